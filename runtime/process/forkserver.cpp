#include "runtime/process/forkserver.hpp"

#include <array>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proctor/errc.hpp"
#include "transport/base/fd_passing.hpp"
#include "transport/base/log.hpp"
#include "transport/handshake.hpp"

namespace proctor::internal {

namespace {

constexpr std::uint32_t request_magic = 0x50465253; // "PFRS"
constexpr std::size_t max_fds = 4;                         // link + stdin, stdout, stderr
constexpr int reply_timeout_ms = 10000;

struct request_header {
  std::uint32_t magic = request_magic;
  std::uint32_t stdio_mask = 0; ///< bit i: fd i travels with the request
  std::uint32_t cwd_size = 0;
};

std::string errno_text(const char* what) {
  return std::string{what} + ": " + std::strerror(errno);
}

/// Moves all `size` bytes at `p` with `op` (a send or a read), again after
/// EINTR; false at the end of the stream or on an error.
template <class Byte, class Op>
bool transfer_all(Byte* p, std::size_t size, Op op) {
  while (size > 0) {
    auto n = op(p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool write_all(int fd, const void* data, std::size_t size) {
  return transfer_all(static_cast<const char*>(data), size, [fd](const char* p, std::size_t n) {
    return ::send(fd, p, n, MSG_NOSIGNAL);
  });
}

bool read_all(int fd, void* data, std::size_t size) {
  return transfer_all(static_cast<char*>(data), size,
                      [fd](char* p, std::size_t n) { return ::read(fd, p, n); });
}

/// Sends `header` and `cwd` with `fds` attached to the first byte.
bool send_request(int fd, const request_header& header, const std::string& cwd,
                  const std::vector<int>& fds) {
  std::array<iovec, 2> iov{{{const_cast<request_header*>(&header), sizeof header},
                            {const_cast<char*>(cwd.data()), cwd.size()}}};
  auto n = send_with_fds(fd, std::span{iov.data(), cwd.empty() ? 1u : 2u}, fds);
  if (n < 0)
    return false;
  // The fds went with the first byte; the rest, if any, follows plainly.
  auto total = sizeof header + cwd.size();
  auto sent = static_cast<std::size_t>(n);
  if (sent >= total)
    return true;
  std::string rest(reinterpret_cast<const char*>(&header), sizeof header);
  rest += cwd;
  return write_all(fd, rest.data() + sent, total - sent);
}

/// Receives a request; false on EOF or a broken stream.
bool receive_request(int fd, request_header& header, std::string& cwd,
                     std::vector<int>& fds) {
  auto n = receive_with_fds(fd, {reinterpret_cast<char*>(&header), sizeof header}, fds,
                            max_fds);
  if (n <= 0)
    return false;
  auto got = static_cast<std::size_t>(n);
  if (got < sizeof header
      && !read_all(fd, reinterpret_cast<char*>(&header) + got, sizeof header - got))
    return false;
  if (header.magic != request_magic || header.cwd_size > PATH_MAX)
    return false;
  cwd.resize(header.cwd_size);
  return read_all(fd, cwd.data(), cwd.size());
}

void close_all(const std::vector<int>& fds) {
  for (int fd : fds)
    ::close(fd);
}

/// How SIGINT was handled when the server started: its workers get it back.
struct sigaction inherited_sigint;
/// The program's name, which the server's workers take back.
char program_name[16];

/// The forked worker's set-up before it becomes an ordinary worker.
int become_worker(int control_fd, pid_t master, const request_header& header,
                  const std::string& cwd, const std::vector<int>& fds) {
  ::close(control_fd);
  ::sigaction(SIGINT, &inherited_sigint, nullptr);
  ::prctl(PR_SET_NAME, program_name);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != master)
    ::_exit(1);
  // Received fds are above 2 (serve_forks keeps 0-2 open), so no dup2
  // clobbers one still to be moved.
  std::size_t next = 1;
  for (int target = 0; target < 3; ++target) {
    if ((header.stdio_mask & (1u << target)) == 0)
      continue;
    ::dup2(fds[next], target);
    ::close(fds[next]);
    ++next;
  }
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0)
    log("process", log_level::warning, "worker cannot enter ", cwd, ": ", std::strerror(errno));
  return fds[0];
}

} // namespace

// -- master side --------------------------------------------------------------

forkserver::forkserver(std::vector<std::string> argv, std::string authkey)
  : argv_(std::move(argv)), authkey_(std::move(authkey)) {
}

forkserver::~forkserver() {
  stop();
}

std::error_code forkserver::start(std::string& detail) {
  if (control_ >= 0)
    return {};
  spawned_worker server;
  if (auto ec = spawn_process(spawn_role::forkserver, argv_, authkey_, server, detail))
    return ec;
  pid_ = server.pid;
  pidfd_ = server.pidfd;
  control_ = server.link_fd;
  return {};
}

void forkserver::stop() {
  if (control_ >= 0) {
    ::close(control_);
    control_ = -1;
  }
  if (pid_ < 0)
    return;
  // It exits on EOF at once; a wedged one is killed after a second.
  pollfd exited{pidfd_, POLLIN, 0};
  if (::poll(&exited, 1, 1000) != 1)
    pidfd_signal(pidfd_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  ::close(pidfd_);
  pid_ = -1;
  pidfd_ = -1;
}

std::error_code forkserver::spawn(spawned_worker& out, std::string& detail) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (control_ < 0)
      if (auto ec = start(detail))
        return ec;
    auto ec = request(out, detail);
    if (!ec || ec != errc::connection_closed)
      return ec;
    log("process", log_level::warning, "the fork server (pid ", pid_, ") failed: ", detail,
        "; starting a new one");
    stop();
  }
  return errc::spawn_failed;
}

std::error_code forkserver::request(spawned_worker& out, std::string& detail) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    detail = errno_text("socketpair");
    return errc::spawn_failed;
  }
  request_header header;
  std::vector<int> fds{sv[1]};
  for (int fd = 0; fd < 3; ++fd)
    if (::fcntl(fd, F_GETFD) != -1) {
      header.stdio_mask |= 1u << fd;
      fds.push_back(fd);
    }
  char buf[PATH_MAX];
  std::string cwd = ::getcwd(buf, sizeof buf) != nullptr ? buf : "";
  header.cwd_size = static_cast<std::uint32_t>(cwd.size());
  bool sent = send_request(control_, header, cwd, fds);
  ::close(sv[1]);
  std::int32_t reply = 0;
  pollfd ready{control_, POLLIN, 0};
  if (!sent || ::poll(&ready, 1, reply_timeout_ms) != 1
      || !read_all(control_, &reply, sizeof reply)) {
    ::close(sv[0]);
    detail = sent ? "no answer" : errno_text("send");
    return errc::connection_closed;
  }
  if (reply <= 0) {
    ::close(sv[0]);
    detail = std::string{"fork: "} + std::strerror(-reply);
    return errc::spawn_failed;
  }
  int pidfd = open_pidfd(reply);
  if (pidfd < 0) {
    detail = errno_text("pidfd_open");
    ::kill(reply, SIGKILL);
    ::waitpid(reply, nullptr, 0);
    ::close(sv[0]);
    return errc::spawn_failed;
  }
  out.pid = reply;
  out.pidfd = pidfd;
  out.link_fd = sv[0];
  return {};
}

// -- server side --------------------------------------------------------------

int serve_forks(int control_fd, pid_t master) {
  for (int fd = 0; fd < 3; ++fd)
    if (::fcntl(fd, F_GETFD) == -1)
      ::open("/dev/null", O_RDWR); // takes the lowest free number: fd
  prepare_crypto();
  // Ctrl-C reaches the whole process group; a master that handles SIGINT to
  // shut down gracefully still needs its fork server (Python's ignores it too).
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &inherited_sigint);
  // `ps` and the tests tell the server from its workers by its name.
  ::prctl(PR_GET_NAME, program_name);
  ::prctl(PR_SET_NAME, forkserver_process_name);
  for (;;) {
    request_header header;
    std::string cwd;
    std::vector<int> fds;
    if (!receive_request(control_fd, header, cwd, fds)) {
      close_all(fds);
      ::_exit(0); // the master closed us (or broke the stream): done
    }
    auto wanted = 1 + std::popcount(header.stdio_mask & 7u);
    std::int32_t reply;
    if (static_cast<int>(fds.size()) != wanted) {
      reply = -EINVAL;
    } else {
      // A raw clone: glibc's fork() has no way to say CLONE_PARENT. This
      // process is single-threaded, so no lock can be held across it.
      auto pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr,
                           nullptr);
      if (pid == 0)
        return become_worker(control_fd, master, header, cwd, fds);
      reply = pid > 0 ? static_cast<std::int32_t>(pid) : -errno;
    }
    close_all(fds);
    if (!write_all(control_fd, &reply, sizeof reply))
      ::_exit(0);
  }
}

} // namespace proctor::internal
