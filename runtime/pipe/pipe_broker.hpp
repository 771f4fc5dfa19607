#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "proctor/pipe.hpp"

namespace proctor::internal {

/// Hands pipe sockets to the processes that deserialize their ends. Each
/// serialized end is an offer: an id and a random token, claimed at most
/// once by connecting to this process's abstract Unix socket, which answers
/// with the descriptor (SCM_RIGHTS). A thread of its own serves claims, so
/// two processes claiming from each other never wait on a busy io thread.
class pipe_broker {
public:
  pipe_broker();
  ~pipe_broker();

  pipe_broker(const pipe_broker&) = delete;
  pipe_broker& operator=(const pipe_broker&) = delete;

  /// Offers `socket` until claimed or withdrawn (it reads `moved` here from
  /// now on); with `reclaimable`, until withdrawn: the first claim takes the
  /// end, later ones get a duplicate of its descriptor, kept here until the
  /// withdrawal. Returns why the end cannot be offered, or errc::ok.
  errc offer(std::shared_ptr<pipe_socket> socket, bool reclaimable, pipe_ticket& ticket);

  /// This broker's abstract socket name.
  const std::string& name() const noexcept {
    return name_;
  }

  /// Drops an unclaimed offer, closing the end (see pipe_socket::end_offer;
  /// with `restore`, the end is open here again).
  void withdraw(std::uint64_t id, bool restore = false);

  /// Takes the end a ticket offers; an end that could not be taken is
  /// returned broken, with the reason, so that decoding never fails.
  static std::shared_ptr<pipe_socket> claim(const pipe_ticket& ticket,
                                            std::uint32_t max_message);

  /// The descriptor a ticket offers, or -1 with why not. Blocks up to 5 s
  /// on the holder's answer.
  static int claim_fd(const pipe_ticket& ticket, errc& code, std::string& detail);

private:
  struct offered {
    std::uint64_t token_hi;
    std::uint64_t token_lo;
    std::shared_ptr<pipe_socket> socket; ///< until the first claim
    int spare = -1;                      ///< a reclaimable offer's duplicate
  };

  void serve();
  void serve_one(int connection);

  std::string name_;
  int listener_ = -1;
  int wakeup_ = -1; ///< eventfd that ends serve()
  std::mutex mtx_;
  std::map<std::uint64_t, offered> offers_;
  std::uint64_t next_id_ = 1;
  std::thread thread_;
};

/// This machine's boot id: pipe ends work only where it matches.
const std::string& host_identity();

} // namespace proctor::internal
