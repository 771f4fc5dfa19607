// jobs_master STORE submit N | jobs_master STORE run: a master running
// durable jobs from STORE with two workers and eight jobs in flight.
// "submit N" first records N
// jt_record jobs (keys "n/0" .. "n/N-1") in one transaction and prints
// "submitted"; both then run until nothing is queued or running, print
// "idle" and end.
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "proctor/jobs.hpp"
#include "proctor/runtime.hpp"
#include "tests/runtime/jobs/jobs_tasks.hpp"

namespace proctor::testing {

int jobs_master_helper(runtime& rt, const std::vector<std::string>& args) {
  jobs_options options;
  options.store = args.at(0);
  options.pool.processes = 2;
  options.concurrency = 8; // the bound on jobs run twice after a kill
  options.backoff = std::chrono::milliseconds{1};
  jobs j{rt, options};
  if (args.at(1) == "submit") {
    std::vector<int> ns(std::stoul(args.at(2)));
    std::iota(ns.begin(), ns.end(), 0);
    job_options keyed;
    keyed.key = "n";
    j.submit_each(jt_record, ns, keyed);
    std::printf("submitted\n");
    std::fflush(stdout);
  }
  if (!j.wait_idle(std::chrono::minutes{5}))
    return 2;
  std::printf("idle\n");
  std::fflush(stdout);
  return 0;
}

} // namespace proctor::testing
