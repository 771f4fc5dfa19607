#pragma once

// Tasks of the durable jobs tests, registered in jobs_tasks.cpp. Most
// append a line to the log file they are given, so that a test can see
// what ran, in which order, how often; jt_record appends to the file that
// PROCTOR_TEST_JOBS_LOG names in the environment of the master that
// started its worker.

#include <cstddef>
#include <string>

#include "proctor/bytes.hpp"

namespace proctor::testing {

/// Appends `line` and a newline to `log`, in one write.
void log_job_line(const std::string& log, const std::string& line);

int jt_square(int n);
/// Logs "n" and returns n * n; sleeps half a millisecond first, so that
/// ten thousand of them take a while on two workers.
int jt_record(int n);
/// Throws std::runtime_error("always fails"), after logging "fails".
int jt_always_fails(std::string log, int n);
/// Fails while `marker` (a file) holds fewer than `needed` bytes, adding one
/// each time.
int jt_flaky(std::string marker, int needed);
/// Sleeps `ms` milliseconds, logging "sleep ms" first.
void jt_sleep(std::string log, int ms);
/// Logs `name`.
void jt_note(std::string log, std::string name);
/// `n` bytes of 'j', in shared memory from 64 KiB on.
proctor::bytes jt_made(std::size_t n);
/// Registered nowhere: submitting it is an error.
int jt_unregistered(int n);

} // namespace proctor::testing
