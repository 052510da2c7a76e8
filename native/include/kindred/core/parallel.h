// A minimal parallel-for over independent tasks, on the calling thread and a process-wide pool of
// threads started on first need and kept (see parallel.cc). The first exception thrown by any task
// is kept and rethrown on the calling thread once every thread has left the call; the other tasks
// stop picking up work once one has failed. Safe to call from several threads at once, and from
// inside a task.
#pragma once

#include <cstddef>
#include <functional>

namespace kindred {

// Number of worker threads CPU ops use: KINDRED_NUM_THREADS if set to a positive integer, else
// std::thread::hardware_concurrency() (at least 1).
int default_thread_count() noexcept;

// Runs fn(task) for task in [0, tasks) on up to `threads` threads (the caller's thread included).
void parallel_for(std::size_t tasks, int threads, const std::function<void(std::size_t)>& fn);

}  // namespace kindred
