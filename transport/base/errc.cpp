#include "proctor/errc.hpp"

namespace proctor {

const char* to_string(errc x) noexcept {
  switch (x) {
    case errc::ok: return "ok";
    case errc::bad_magic: return "bad_magic";
    case errc::unsupported_version: return "unsupported_version";
    case errc::unknown_frame_kind: return "unknown_frame_kind";
    case errc::frame_too_large: return "frame_too_large";
    case errc::truncated_frame: return "truncated_frame";
    case errc::malformed_payload: return "malformed_payload";
    case errc::authentication_failed: return "authentication_failed";
    case errc::fingerprint_mismatch: return "fingerprint_mismatch";
    case errc::handshake_timeout: return "handshake_timeout";
    case errc::peer_refused: return "peer_refused";
    case errc::connection_closed: return "connection_closed";
    case errc::invalid_endpoint: return "invalid_endpoint";
    case errc::connect_failed: return "connect_failed";
    case errc::protocol_violation: return "protocol_violation";
    case errc::duplicate_node: return "duplicate_node";
    case errc::peer_unresponsive: return "peer_unresponsive";
    case errc::tls_required: return "tls_required";
    case errc::tls_failed: return "tls_failed";
    case errc::unregistered_task: return "unregistered_task";
    case errc::unregistered_actor: return "unregistered_actor";
    case errc::spawn_failed: return "spawn_failed";
    case errc::process_exited: return "process_exited";
    case errc::process_killed: return "process_killed";
    case errc::invalid_state: return "invalid_state";
    case errc::timeout: return "timeout";
    case errc::not_in_worker: return "not_in_worker";
    case errc::bad_argument: return "bad_argument";
    case errc::not_published: return "not_published";
    case errc::queue_full: return "queue_full";
    case errc::queue_empty: return "queue_empty";
    case errc::closed: return "closed";
    case errc::owner_gone: return "owner_gone";
    case errc::end_of_pipe: return "end_of_pipe";
    case errc::moved: return "moved";
    case errc::remote_error: return "remote_error";
    case errc::worker_died: return "worker_died";
    case errc::task_timed_out: return "task_timed_out";
    case errc::pool_broken: return "pool_broken";
    case errc::pool_terminated: return "pool_terminated";
    case errc::broken_barrier: return "broken_barrier";
    case errc::type_mismatch: return "type_mismatch";
    case errc::node_down: return "node_down";
    case errc::name_taken: return "name_taken";
    case errc::not_registered: return "not_registered";
    case errc::supervisor_gave_up: return "supervisor_gave_up";
    case errc::no_such_child: return "no_such_child";
    case errc::start_failed: return "start_failed";
    case errc::resource_exhausted: return "resource_exhausted";
    case errc::no_such_block: return "no_such_block";
    case errc::store_failed: return "store_failed";
    case errc::job_dead: return "job_dead";
    case errc::no_such_job: return "no_such_job";
  }
  return "unknown";
}

namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override {
    return "proctor";
  }

  std::string message(int value) const override {
    return to_string(static_cast<errc>(value));
  }
};

} // namespace

const std::error_category& proctor_category() noexcept {
  static const category instance;
  return instance;
}

} // namespace proctor
