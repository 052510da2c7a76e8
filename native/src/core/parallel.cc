#include "kindred/core/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kindred {

int default_thread_count() noexcept {
  if (const char* env = std::getenv("KINDRED_NUM_THREADS")) {
    char* end = nullptr;
    long value = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && value > 0 && value <= 1024) return static_cast<int>(value);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min(hw, 1024u));
}

namespace {

// One parallel_for call: its tasks, claimed one at a time by the caller and by the pool threads
// that joined it. Lives on the caller's stack; the caller leaves only once no helper is inside.
struct Job {
  std::size_t tasks;
  const std::function<void(std::size_t)>* fn;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex mutex;  // guards first_error, helpers, done
  std::condition_variable done;
  int open = 0;      // helper slots left (guarded by the pool's mutex)
  int helpers = 0;   // helpers inside run() (guarded by mutex)

  void run() {
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) return;
      const std::size_t task = next.fetch_add(1, std::memory_order_relaxed);
      if (task >= tasks) return;
      try {
        (*fn)(task);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!first_error) first_error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
  }
};

// Threads kept for the life of the process, idle until a parallel_for offers them a job. Starting
// a std::thread per helper and joining it cost about 30 µs per call here, and the matcher makes a
// dozen such calls at N = 2,000 (0.4 ms of a 20 ms call); offering a job to waiting threads costs its
// caller about 1 µs (measured back to back; how soon a sleeping thread wakes depends on the machine).
// Any thread may call parallel_for, several at once (Node worker threads each run their own calls):
// each job takes the free threads it may, and its caller works on it too, so every job finishes
// even when the pool's threads are all busy elsewhere, and a task may itself call parallel_for.
class ThreadPool {
 public:
  // Helpers for `job`: up to `wanted` pool threads may join it (more are started if fewer exist).
  void offer(Job& job, int wanted) {
    std::lock_guard<std::mutex> lock(mutex_);
    while (static_cast<int>(threads_) < wanted) {
      try {
        std::thread(&ThreadPool::work, this).detach();
        ++threads_;
      } catch (...) {
        break;  // the caller (and whatever threads exist) still finish the work
      }
    }
    job.open = wanted;
    queue_.push_back(&job);
    wake_.notify_all();
  }

  // No more helpers may join `job`.
  void withdraw(Job& job) {
    std::lock_guard<std::mutex> lock(mutex_);
    job.open = 0;
    queue_.erase(std::remove(queue_.begin(), queue_.end(), &job), queue_.end());
  }

 private:
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return !queue_.empty(); });
      Job* job = queue_.front();
      if (--job->open == 0) queue_.pop_front();
      {
        std::lock_guard<std::mutex> job_lock(job->mutex);
        ++job->helpers;
      }
      lock.unlock();
      job->run();
      {
        std::lock_guard<std::mutex> job_lock(job->mutex);
        if (--job->helpers == 0) job->done.notify_all();
      }
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job*> queue_;
  std::size_t threads_ = 0;
};

// Never destroyed: its threads wait on it until the process ends (a static destructor would have to
// stop threads that other statics' destructors may still be feeding).
ThreadPool& pool() {
  static ThreadPool* instance = new ThreadPool();
  return *instance;
}

}  // namespace

void parallel_for(std::size_t tasks, int threads, const std::function<void(std::size_t)>& fn) {
  if (tasks == 0) return;
  const std::size_t workers = std::min<std::size_t>(tasks, static_cast<std::size_t>(std::max(threads, 1)));
  Job job;
  job.tasks = tasks;
  job.fn = &fn;
  if (workers > 1) pool().offer(job, static_cast<int>(workers - 1));
  job.run();
  if (workers > 1) {
    pool().withdraw(job);
    std::unique_lock<std::mutex> lock(job.mutex);
    job.done.wait(lock, [&] { return job.helpers == 0; });
  }
  if (job.first_error) std::rethrow_exception(job.first_error);
}

}  // namespace kindred
