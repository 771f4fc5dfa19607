#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/remote/link.hpp"
#include "actors/remote/link_requests.hpp"
#include "actors/registry/name_table.hpp"
#include "actors/remote/router.hpp"
#include "runtime/core/directory.hpp"
#include "runtime/core/worker_process.hpp"
#include "proctor/node.hpp"
#include "runtime/process/child_process.hpp"
#include "runtime/process/forkserver.hpp"
#include "runtime/process/spawn.hpp"
#include "transport/connection.hpp"
#include "transport/service_thread.hpp"
#include "transport/socket.hpp"

namespace proctor::internal {

class block_table;
class heap_trimmer;
class pipe_broker;
class shared_block;
struct block_grant;
class ack_batcher;
struct run_request;

/// CAF's configuration plus proctor's flags (`--proctor.*`).
class runtime_config : public caf::actor_system_config {
public:
  runtime_config();
};

/// A shared memory block this process holds once, mapped here.
struct held_block {
  std::shared_ptr<shared_block> block;
  std::string name;
  std::uint64_t serial = 0;
  std::string home; ///< the node id of the root that keeps its name
};

class runtime_impl;

/// Lets go of holds on blocks for handles that may outlive their runtime:
/// the runtime clears `rt` under `mtx` first thing when it ends, so a
/// release either reaches a whole runtime or nothing. release_block never
/// blocks, so holding `mtx` across it is brief.
struct block_release_gate {
  std::mutex mtx;
  runtime_impl* rt = nullptr;

  void release(const std::string& name, std::uint64_t serial) noexcept;
};

/// What this process is to its runtime.
enum class process_role { master, worker };

class runtime_impl {
public:
  runtime_impl(int argc, char** argv, std::string authkey, process_role role);

  ~runtime_impl();

  /// Whether --proctor.tls-* flags configured TLS for tcp endpoints.
  bool tls_enabled() const noexcept {
    return tls_ != nullptr;
  }

  caf::actor_system& system() noexcept {
    return *system_;
  }

  router& routes() noexcept {
    return *router_;
  }

  boost::asio::io_context& io() noexcept {
    return io_;
  }

  /// Starts a worker; returns once it runs (its link may still handshake).
  std::shared_ptr<child_process> start_child(bool daemon, std::string name = {});
  /// The children started here that have not ended yet.
  std::vector<std::shared_ptr<child_process>> live_children();

  /// Asks a worker to spawn the registered actor `name`; waits for its handle.
  caf::strong_actor_ptr spawn_in(child_process& child, const std::string& name,
                                 const std::string& args);

  /// Accepts links from runtimes of this binary on `endpoint`; returns the
  /// endpoint bound (the real port for tcp port 0).
  std::string listen(const std::string& endpoint);

  /// Accepts links from runtimes that prove `keys` on `endpoint`; the links
  /// accepted are served `directory` (if any). Returns the listener.
  std::shared_ptr<listener> listen_peers(const std::string& endpoint, const handshake_keys& keys,
                                         std::shared_ptr<object_directory> directory);

  /// The link to the runtime at `endpoint`: the one made before, or a new
  /// one that authenticates with `keys`. Throws proctor::error.
  std::shared_ptr<link> connect_peer(const std::string& endpoint, const handshake_keys& keys,
                                     std::chrono::milliseconds timeout);

  /// Sends `request` to the runtime at `endpoint` over connect_peer's link
  /// and returns the link it was answered on with the reply. A link whose
  /// handshake failed is forgotten; an endpoint of a node linked already (a
  /// child that listens, say) is asked through that node's link. Throws
  /// proctor::error for every failure.
  template <class Request>
  std::pair<std::shared_ptr<link>, typename Request::reply_type>
  ask_peer(const std::string& endpoint, const handshake_keys& keys, const Request& request,
           std::chrono::milliseconds timeout) {
    auto channel = connect_peer(endpoint, keys, timeout);
    auto reply = requests_.call(*channel, request, timeout);
    if (!reply) {
      auto through = after_failed_ask(endpoint, channel, reply.error());
      if (!through)
        throw_failed_ask(endpoint, reply.error());
      channel = std::move(through);
      reply = requests_.call(*channel, request, timeout);
      if (!reply)
        throw_failed_ask(endpoint, reply.error());
    }
    return {std::move(channel), std::move(*reply)};
  }

  /// Sends `request` over `l` and waits for its reply.
  template <class Request>
  caf::expected<typename Request::reply_type>
  ask_link(link& l, const Request& request, std::optional<std::chrono::milliseconds> timeout) {
    return requests_.call(l, request, timeout);
  }

  /// What a manager serves on `l`: the manager that accepted it, or, for a
  /// link no manager accepted (a member's), the one bound at `endpoint`;
  /// null if none.
  std::shared_ptr<object_directory> directory_of(const link& l, const std::string& endpoint);

  /// Closes every link served `directory`, established or not yet.
  void close_links_of(const object_directory& directory, errc reason, const std::string& detail);

  // -- nodes (runtime/node/) ---------------------------------------------------

  /// The endpoint of --proctor.join: this process is a node if not empty.
  const std::string& join_endpoint() const noexcept {
    return join_endpoint_;
  }

  /// Runs a node's life on the calling thread: joins the master, serves
  /// it, stops its workers and rejoins when it loses it; returns the exit
  /// code once it gives up.
  int run_node();

  /// The nodes that joined this master.
  std::vector<node_info> nodes();
  bool wait_for_nodes(std::size_t n, std::chrono::milliseconds timeout);
  /// Whether `id` names a node alive now; its cores if so.
  std::optional<unsigned> node_cores(const std::string& id);

  /// A worker process started on a node, hosting a registered actor.
  struct placed_worker {
    caf::strong_actor_ptr actor;
    std::shared_ptr<worker_process> process;
  };

  /// Starts a worker on node `id` hosting the registered actor `actor`.
  /// Blocks; never on the io thread. Throws proctor::error.
  placed_worker start_on_node(const std::string& id, const std::string& actor,
                              const std::string& args, const std::string& process_name);

  /// Starts a proctor::process on node `id` as `request` says (its ref is
  /// set here); the child ends when the node reports its exit, or with
  /// SIGKILL's status when the node is lost. Blocks; throws proctor::error.
  std::shared_ptr<child_process> run_on_node(const std::string& id, run_request request);
  /// The processes started on nodes that have not ended yet.
  std::vector<std::shared_ptr<child_process>> remote_children();

  /// Sends `request` over `l` without waiting for its answer.
  template <class Request>
  void post_request(link& l, const Request& request) {
    requests_.post(l, request);
  }

  /// Makes `actor` reachable as `name` through every link of this process.
  void publish(caf::strong_actor_ptr actor, const std::string& name);

  // -- names (runtime/registry/) -------------------------------------------------

  /// Binds `name` in the cluster's registry (the master's table, asked over
  /// the link to it elsewhere); `replacing` may be replaced. Throws
  /// proctor::error. Blocks for a round trip outside the master.
  void bind_name(const std::string& name, const caf::strong_actor_ptr& actor,
                 const caf::actor_addr& replacing = {});
  /// The actor bound to `name`, or null. Throws for a lost master.
  caf::strong_actor_ptr find_name(const std::string& name);
  /// Drops `name`'s binding. Throws proctor::error(not_registered).
  void unbind_name(const std::string& name);

  /// The actor published as `name` by the runtime at `endpoint`, through one
  /// link per endpoint, made on first use.
  caf::strong_actor_ptr remote_actor(const std::string& endpoint, const std::string& name,
                                     std::chrono::milliseconds timeout);

  /// Runs a worker's life on the calling thread (the worker's main thread)
  /// and ends the process. `link_fd` is connected to the parent.
  /// Serves the parent until it orders a task, runs it, and returns its
  /// exit code. Ends the process itself (with _exit) if the parent goes,
  /// or once the actors it hosts are done.
  int run_worker(int link_fd, pid_t parent);

  /// Adopts an actor that proctor made (a queue, a lock...): it ends with
  /// the runtime, since handles that crossed processes keep it registered.
  void own(const caf::actor& actor);

  /// Runs `work` on the runtime's thread for blocking work, in order.
  void run_blocking(std::function<void()> work);

  /// The process's heap trimmer (made on first use). Fetch it for each
  /// use: it must not outlive the runtime.
  std::shared_ptr<heap_trimmer> trimmer();

  /// The hand-over service of this process's pipe ends, started on first use.
  std::shared_ptr<pipe_broker> pipes();

  /// This process's batched acks of queue items, made on first use.
  std::shared_ptr<ack_batcher> acks();
  /// Sends the acks waiting in the batcher, if there is one.
  void send_acks();

  /// Lets the frames sent so far out before the process ends: waits while
  /// they move, gives up on a peer that takes nothing for 30 s.
  void flush_links();

  /// Whether shared memory reaches `node` as such: it is this process, or
  /// its link passes descriptors (else proctor::bytes travel inline).
  bool shares_memory_with(const caf::node_id& node);

  std::uint32_t max_frame_size() const noexcept {
    return max_frame_size_;
  }

  std::uint64_t max_shared_size() const noexcept {
    return max_shared_size_;
  }

  /// Connection settings for a new link on which this process plays `role`.
  connection_settings link_settings(handshake_role role) const;

  process_role role() const noexcept {
    return role_;
  }

  // Shared memory blocks of this host (runtime/shared/block_service.cpp):
  // kept by the root (a master or node), asked for by its workers. Each
  // create or attach is one hold, let go by one release; errors are thrown
  // as proctor::error.
  held_block create_block(const std::string& name, std::uint64_t size);
  held_block attach_block(const std::string& name, std::uint64_t serial, const std::string& home);
  void release_block(const std::string& name, std::uint64_t serial) noexcept;
  void unlink_block(const std::string& name, std::uint64_t serial);
  /// How many blocks have a name here (0 but in a root).
  std::size_t named_blocks() const;
  /// This runtime's node id as text: where blocks it keeps live.
  const std::string& home_text() const;
  /// Where a handle lets go of a hold taken through this runtime, from any
  /// thread, even after the runtime ended (then its holds went with it).
  std::shared_ptr<block_release_gate> release_gate() const noexcept {
    return release_gate_;
  }

  /// The handshake keys derived from this runtime's authkey.
  const handshake_keys& keys() const noexcept {
    return keys_;
  }

  /// The process name given by the parent (workers) or MainProcess.
  std::string process_name = "MainProcess";
  /// The parent's process name, as it sent it with the task (workers).
  std::string parent_name;

private:
  /// Registers the control requests this runtime serves.
  void serve_control();
  /// Registers the shared memory requests; makes the table in a root.
  void serve_blocks();
  /// The worker at `l` is gone: so are its holds on blocks.
  void block_holder_gone(const link& l);
  /// A worker's link to the root that keeps its blocks (its parent).
  std::shared_ptr<link> block_root();
  /// The block a root granted, mapped here; throws what went wrong.
  held_block take_grant(caf::expected<block_grant> reply, const std::string& name);
  /// Whether `l` leads to a worker this runtime started.
  bool is_child_link(const link& l);
  /// `l` leads to a worker this runtime starts: it borrows the memory that
  /// worker lends (pool results), and gives it back over `l`.
  void lend_through(const std::shared_ptr<link>& l);
  /// Registers the name registry's requests (runtime/registry/).
  void serve_registry();
  /// The link to the runtime that holds the registry: nothing in the
  /// master (it holds it), a null link while that runtime is unreachable.
  std::optional<std::shared_ptr<link>> registry_holder();
  /// Whether `l` leads to a worker or a node of this runtime (which may
  /// bind names), not to a peer (which may only look them up).
  bool is_member_link(const link& l);
  /// A handle at `address` as seen here.
  caf::strong_actor_ptr actor_at(const actor_address& address);
  /// Registers the requests of nodes and their master (runtime/node/).
  void serve_nodes();
  void node_side_requests();
  void serve_node_processes();
  /// The link to the live node `id`; throws node_down if there is none.
  std::shared_ptr<link> live_node_link(const std::string& id);
  /// Signals worker `pid` of the node at `channel`.
  std::shared_ptr<worker_process> node_worker(const std::shared_ptr<link>& channel,
                                              const std::string& id, std::uint32_t pid);
  /// The node `l` was lost: its processes end as killed.
  void lose_node_processes(const link& l);
  /// Node side: answers a request of `from` to start a worker (Request)
  /// with `start(child, master)`, run on a thread of its own, if `from` is
  /// the master; a worker started for a master lost meanwhile is killed.
  template <class Request, class Start>
  void start_for_master(link& from,
                        request_server::responder<typename Request::reply_type> respond,
                        Start start);
  /// Node side: whether `l` is the link to this node's master.
  bool from_master(const link& l);
  bool is_master(const std::weak_ptr<link>& l);
  /// A node's link closed (master side): marks it dead; the reason its
  /// actors are reported down with, or nothing if `l` is no node's.
  std::optional<std::string> node_link_closed(const link& l, const std::string& cause);
  /// A link closed: its pending requests fail, its actors are down.
  void link_closed(link& l, std::error_code reason, const std::string& detail);

  /// Control frames on links to children and peers.
  std::error_code on_control(link& from, frame_kind kind, std::span<const char> payload);
  /// Control frames on a worker's link to its parent.
  std::error_code on_worker_control(link& from, frame_kind kind,
                                    std::span<const char> payload);
  /// Spawns the registered actor `name` here, for the parent.
  caf::expected<actor_address> spawn_hosted(const std::string& name, const std::string& args);

  /// A link to a peer runtime: accepted on the listening endpoint `ep`
  /// (`endpoint_key` empty), serving `directory`, or connected to `ep`,
  /// whose key is `endpoint_key`.
  std::shared_ptr<link> make_peer_link(connection::socket_type socket, const endpoint& ep,
                                       const std::string& endpoint_key,
                                       const handshake_keys& keys,
                                       std::shared_ptr<object_directory> directory);
  /// Reads the flags and the config file (settings.cpp).
  void read_settings();
  /// Loads the TLS files the flags name, if any.
  void load_tls();
  /// A link to a peer over `ep`: heartbeats, and TLS on tcp if configured.
  connection_settings peer_settings(const endpoint& ep, handshake_role role,
                                    const handshake_keys& keys) const;
  /// After a request to a peer failed with `failure`: forgets the link if
  /// its handshake failed; returns the link to ask through instead, if the
  /// peer turned out to be a node linked already.
  std::shared_ptr<link> after_failed_ask(const std::string& endpoint,
                                         const std::shared_ptr<link>& channel,
                                         const caf::error& failure);
  [[noreturn]] void throw_failed_ask(const std::string& endpoint, const caf::error& failure);
  void watch_exit(const std::shared_ptr<child_process>& child);
  void finish_child(const std::shared_ptr<child_process>& child);
  void report_end(const std::shared_ptr<child_process>& child);

  std::vector<std::string> argv_;
  std::string authkey_;
  handshake_keys keys_; ///< derived from authkey_ once
  process_role role_;
  std::uint32_t max_frame_size_;
  std::uint64_t max_shared_size_;
  std::chrono::milliseconds handshake_timeout_;
  std::chrono::milliseconds heartbeat_interval_; ///< on peer links only
  std::chrono::milliseconds dead_after_;
  /// This host's TLS identity; null without TLS flags.
  std::shared_ptr<const tls_context> tls_;
  runtime_config cfg_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<router> router_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
    work_;
  std::thread io_thread_;
  /// The thread for blocking work that must not run on the io thread:
  /// starting workers (a fork-server round trip, an exec) and fetching pipe
  /// ends that arrived there. Started on first use (a worker that starts
  /// nothing has none), it lives as long as the runtime, because a worker's
  /// PDEATHSIG fires when the thread that started it (or the fork server)
  /// ends. blocking_mtx_ guards its creation only.
  service_thread& blocking();
  std::mutex blocking_mtx_;
  std::optional<service_thread> blocking_;
  std::shared_ptr<heap_trimmer> trimmer_; ///< on blocking_'s context; blocking_mtx_
  std::unique_ptr<forkserver> forkserver_; ///< null: start method "spawn"
  std::shared_ptr<pipe_broker> pipes_;
  /// Its own mutex: a worker flushes its links with mtx_ held.
  std::mutex acks_mtx_;
  std::shared_ptr<ack_batcher> acks_; ///< guarded by acks_mtx_

  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<child_process>> children_;
  link_requests requests_;   ///< control requests this runtime sent
  request_server served_;    ///< control requests it answers
  const link* parent_link_ = nullptr; ///< a worker's link to its parent
  std::map<std::string, caf::strong_actor_ptr> published_;
  std::shared_ptr<name_table> names_; ///< the cluster's names (the master's)
  std::shared_ptr<block_table> blocks_; ///< this host's blocks (a root's)
  std::shared_ptr<block_release_gate> release_gate_;
  mutable std::once_flag home_once_; ///< home_ rendered on first use
  mutable std::string home_;
  std::vector<caf::actor_addr> owned_;
  std::vector<std::shared_ptr<listener>> listeners_;
  std::map<std::string, std::shared_ptr<link>> peers_; ///< by endpoint
  /// What the links a manager's endpoint accepted are served.
  struct served_link {
    std::weak_ptr<link> channel;
    std::shared_ptr<object_directory> directory;
  };
  std::map<const link*, served_link> directories_;
  std::vector<std::weak_ptr<object_directory>> managers_;

  // Nodes, master side (guarded by mtx_; cv_ tells joins).
  struct node_record {
    node_info info;
    std::weak_ptr<link> channel;
  };
  std::map<std::string, node_record> nodes_;      ///< by id
  std::map<const link*, std::string> node_links_; ///< live node links
  /// Processes started on nodes and not ended yet, by ref.
  struct remote_child {
    const link* node_link = nullptr;
    std::shared_ptr<child_process> child;
  };
  std::map<std::uint64_t, remote_child> remote_children_;
  std::uint64_t last_remote_ref_ = 0;
  // Node side.
  std::string join_endpoint_;
  std::chrono::milliseconds rejoin_for_{60000};
  std::shared_ptr<link> master_link_; ///< guarded by mtx_
  /// The processes run for the master, until they end (guarded by mtx_).
  std::map<const child_process*, std::shared_ptr<child_process>> run_for_master_;

  // Worker side: what the parent asked the main thread to do.
  struct task_order {
    std::string task;
    std::string args;
  };
  std::optional<task_order> order_;
  bool parent_gone_ = false;
  int hosted_ = 0;           ///< live actors spawned here for the parent
  bool hosting_done_ = false;
  int hosted_exit_code_ = 0;
};

/// The runtime of this process (set while one exists).
runtime_impl* current_runtime() noexcept;

/// The readable name of a type, e.g. of an exception.
std::string demangled(const std::type_info& type);

/// A 64-bit hash of every name registered in this binary; peers compare it.
std::uint64_t binary_fingerprint();

} // namespace proctor::internal
