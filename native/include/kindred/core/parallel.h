// A minimal parallel-for over independent tasks on short-lived std::threads. The first exception
// thrown by any task is kept and rethrown after the join on the calling thread; the other tasks stop
// picking up work once one has failed.
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
