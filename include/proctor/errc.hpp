#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>

namespace proctor {

/// Every error proctor reports. The numeric values are part of the wire
/// protocol (errors cross processes) and never change meaning.
enum class errc : std::uint8_t {
  ok = 0,
  // -- transport: a connection is closed with one of these --------------------
  bad_magic = 1,             ///< the peer does not speak proctor's protocol
  unsupported_version = 2,   ///< the peer speaks another protocol version
  unknown_frame_kind = 3,    ///< a frame header names no known kind
  frame_too_large = 4,       ///< a frame header announces more than the limit
  truncated_frame = 5,       ///< the peer closed in the middle of a frame
  malformed_payload = 6,     ///< a payload does not decode as its kind says
  authentication_failed = 7, ///< the peer does not know the authkey
  fingerprint_mismatch = 8,  ///< the peer was built from another binary
  handshake_timeout = 9,     ///< the peer did not finish the handshake in time
  peer_refused = 10,         ///< the peer closed the handshake with a reason
  connection_closed = 11,    ///< the connection is gone (EOF or I/O error)
  invalid_endpoint = 12,     ///< an address string does not parse
  connect_failed = 13,       ///< nothing accepts connections at an endpoint
  protocol_violation = 14,   ///< a frame out of its place (a second hello...)
  duplicate_node = 15,       ///< a peer claims a node id already live here
  peer_unresponsive = 16,    ///< nothing arrived from the peer for the dead-after time
  tls_required = 17,         ///< a plain peer met an endpoint that requires TLS
  tls_failed = 18,           ///< the TLS handshake failed (certificate, host name, no TLS)
  // -- runtime -----------------------------------------------------------------
  unregistered_task = 32,    ///< no PROCTOR_TASK of that name in this binary
  unregistered_actor = 33,   ///< no PROCTOR_ACTOR of that name in this binary
  spawn_failed = 34,         ///< the worker process could not be started
  process_exited = 35,       ///< a process ended with an exit code
  process_killed = 36,       ///< a process ended by a signal
  invalid_state = 37,        ///< a call that the object's state forbids
  timeout = 38,              ///< a blocking call ran out of time
  not_in_worker = 39,        ///< a worker-only call made in the master
  bad_argument = 40,         ///< arguments that do not decode for the target
  not_published = 41,        ///< no actor published under that name
  // -- channels ------------------------------------------------------------------
  queue_full = 42,           ///< a put found no room in time
  queue_empty = 43,          ///< a get found no item in time
  closed = 44,               ///< the queue or pipe was closed
  owner_gone = 45,           ///< the process that owned a queue, lock... ended
  end_of_pipe = 46,          ///< the other end of a pipe is closed or gone
  moved = 47,                ///< a pipe end was handed to another process
  // -- pool ----------------------------------------------------------------------
  remote_error = 48,         ///< a task threw in its worker
  worker_died = 49,          ///< every worker that ran a task died running it
  task_timed_out = 50,       ///< a task ran past the pool's task_timeout
  pool_broken = 51,          ///< workers crashed too often; the pool gave up
  pool_terminated = 52,      ///< terminate() ended the pool first
  // -- synchronization -------------------------------------------------------------
  broken_barrier = 53,       ///< a barrier was aborted, reset, timed out or lost a party
  // -- managers ----------------------------------------------------------------------
  type_mismatch = 54,        ///< a name is served with another type than the one asked for
  node_down = 55,            ///< a node was declared dead (killed, frozen, partitioned)
  // -- names and supervisors -----------------------------------------------------------
  name_taken = 56,           ///< a name is registered to another live actor
  not_registered = 57,       ///< no actor is registered under that name
  supervisor_gave_up = 58,   ///< children crashed more often than the restart intensity allows
  no_such_child = 59,        ///< a supervisor has no child with that id
  start_failed = 60,         ///< a supervisor's child failed to start
  // -- memory ----------------------------------------------------------------
  resource_exhausted = 61,   ///< the system refused memory or descriptors
  no_such_block = 62,        ///< no shared memory block of that name on this host
  store_failed = 63,         ///< a durable job store refused (its file, its server)
  job_dead = 64,             ///< every attempt of a durable job failed
  no_such_job = 65,          ///< no durable job has that id (never, or purged)
};

/// The name of an error code, e.g. "frame_too_large".
const char* to_string(errc x) noexcept;

/// The `std::error_category` of proctor's codes, named "proctor".
const std::error_category& proctor_category() noexcept;

inline std::error_code make_error_code(errc x) noexcept {
  return {static_cast<int>(x), proctor_category()};
}

/// The one base of every exception the blocking facade throws.
class error : public std::runtime_error {
public:
  error(errc code, const std::string& what)
    : std::runtime_error(what), code_(code) {
  }

  errc code() const noexcept {
    return code_;
  }

private:
  errc code_;
};

/// A blocking call ran out of time (Python's TimeoutError).
class timeout_error : public error {
public:
  explicit timeout_error(const std::string& what) : error(errc::timeout, what) {
  }
};

} // namespace proctor

#ifndef PROCTOR_DOXYGEN // Doxygen cannot place this specialization
template <>
struct std::is_error_code_enum<proctor::errc> : std::true_type {};
#endif
