#pragma once

// The engine behind proctor::jobs.
//
// Threads and locks:
// - The store thread (loop) is the only one that touches the store. It runs
//   every pending request and every pending outcome in one transaction
//   (group commit), then claims due jobs and hands them to the pool.
// - Callers' threads queue requests and wait for them (mailbox::mtx).
// - The pool's callback thread queues outcomes (mailbox::mtx), never waits.
// - Nothing here runs on the io thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "proctor/jobs.hpp"
#include "runtime/jobs/job_store.hpp"

namespace proctor::internal {


/// What an attempt came to, from the pool.
struct job_outcome {
  std::uint64_t id = 0;
  std::uint32_t attempt = 0;
  bool ok = false;
  std::vector<char> result;
  errc code = errc::remote_error;
  std::string error; ///< "type: what"
  std::uint32_t refusals = 0; ///< times the store refused to record it
};

class jobs_core {
public:
  jobs_core(runtime& rt, jobs_options options);
  ~jobs_core();
  jobs_core(const jobs_core&) = delete;
  jobs_core& operator=(const jobs_core&) = delete;

  /// Runs `work` on the store thread, in the next batch's transaction, and
  /// waits for it to be committed; rethrows what it (or the commit) threw.
  /// `writes` says whether it changes the store (a submit, a retry), which
  /// wakes waiters and the claims; reads share a deferred transaction.
  void call(std::function<void(job_store&)> work, bool writes);

  /// Waits until a batch with outcomes was committed here, or another
  /// process changed the store, or `until` (at most a poll's span).
  void wait_change(std::chrono::steady_clock::time_point until);

private:
  /// The wait before attempt `failed` + 1, with jitter.
  std::chrono::milliseconds backoff_for(std::uint32_t failed);

  struct request {
    std::function<void(job_store&)> work;
    bool writes = true;
    std::exception_ptr failure;
    bool done = false;
  };

  /// Shared with the pool's callbacks, which may outlive a stopping core.
  struct mailbox {
    std::mutex mtx;
    std::condition_variable wake;     ///< the store thread
    std::condition_variable answered; ///< callers of call() and wait_change()
    std::vector<std::shared_ptr<request>> requests;
    std::vector<job_outcome> outcomes;
    std::uint64_t epoch = 0; ///< bumped per change that wait_change() sees
    bool stopping = false;
    bool stopped = false;
  };

  void loop();
  /// Runs the requests and records the outcomes in one transaction; one
  /// that writes and `may_claim` also claims the next jobs, which start
  /// once it committed.
  void commit(std::vector<std::shared_ptr<request>>& requests,
              std::vector<job_outcome>& outcomes, bool may_claim);
  void record(const job_outcome& outcome, std::int64_t now_ms);
  /// The outcome is recorded: its attempt no longer runs here.
  void settled(const job_outcome& outcome);
  /// The store refused to record `o` with `why`: what to try next time
  /// (the same, or a failure in its place), or nothing (given up).
  std::optional<job_outcome> refused(job_outcome o, const std::string& why);
  void take_jobs(std::int64_t now_ms);
  /// How many jobs may run here at once: the user's figure, or about five
  /// milliseconds of work per worker as the pool measures it.
  std::size_t in_flight_limit();
  /// `taken`, claimed with `room` for more, now runs here.
  void start(const std::vector<claimed_job>& taken, std::size_t room, std::int64_t now_ms);
  /// Hands claimed jobs to the pool, all in one submission.
  void dispatch(const std::vector<claimed_job>& jobs);
  /// Queues a failed outcome for `job`, which did not reach the pool.
  void fail_now(const claimed_job& job, errc code, std::string why);
  /// Gives the jobs of owners that ended back to the queue; deletes
  /// expired results.
  void housekeeping(std::chrono::steady_clock::time_point now);
  void shut_down();
  void bump();

  jobs_options options_;
  std::unique_ptr<job_store> store_;
  std::unique_ptr<pool> pool_;
  std::shared_ptr<mailbox> box_;
  std::size_t concurrency_ = 0;

  // The store thread's own.
  bool dirty_ = true; ///< something may be due: claim before sleeping
  std::optional<std::int64_t> next_due_;
  std::chrono::steady_clock::time_point next_housekeeping_{};
  std::chrono::steady_clock::time_point next_purge_{};
  /// Jobs handed to the pool: id to attempt.
  std::map<std::uint64_t, std::uint32_t> running_;
  /// The pool failed for good (pool_broken): no more jobs are taken.
  bool broken_ = false;
  std::minstd_rand jitter_;

  std::thread thread_;
};

} // namespace proctor::internal
