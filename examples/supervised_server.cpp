// A server application under supervision: an acceptor actor hands each
// connection to a session actor in a worker process of its own, started by
// a simple_one_for_one supervisor; the sessions keep their data in a cache
// actor found by name. The application's supervisor is rest_for_one over
// [cache, sessions]: killing a session's process costs that session only;
// killing the cache restarts it and what depends on it, the sessions.
// Clients speak lines: "put KEY VALUE" -> "ok", "get KEY" -> the value.
#include <proctor/proctor.hpp>

#include <caf/stateful_actor.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

using namespace std::chrono_literals;

struct cache_state {
  std::map<std::string, std::string> entries;
};

caf::behavior cache(caf::stateful_actor<cache_state>* self) {
  return {
    [self](const std::string& key, const std::string& value) {
      self->state.entries[key] = value;
      return std::string{"ok"};
    },
    [self](const std::string& key) { return self->state.entries[key]; },
  };
}
PROCTOR_ACTOR(cache);

// Reads one line from `fd`; false at the end of the connection.
bool read_line(int fd, std::string& line) {
  line.clear();
  char c;
  while (::read(fd, &c, 1) == 1) {
    if (c == '\n')
      return true;
    line += c;
  }
  return false;
}

void write_line(int fd, const std::string& line) {
  auto text = line + '\n';
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    std::cerr << "session: write failed\n";
}

// Serves one connection (it arrives in a message) on a thread of its own,
// asking the cache by name for each line; ends when the client closes, and
// closes the connection when it is stopped.
caf::behavior session(caf::event_based_actor* self) {
  return {[self](caf::atom_value, proctor::fd conn) {
    // Both copies keep the descriptor open while either runs.
    int sock = conn.get();
    self->attach_functor([conn, sock] { ::shutdown(sock, SHUT_RDWR); });
    std::thread{[conn, sock, me = caf::actor{self}] {
      caf::scoped_actor ask{me.home_system()};
      std::string line;
      while (read_line(sock, line)) {
        std::istringstream words{line};
        std::string op, key, value, reply;
        words >> op >> key >> value;
        auto store = proctor::whereis("cache");
        auto answer = [&](auto... xs) {
          ask->request(store, 10s, xs...).receive([&](std::string& r) { reply = r; },
                                                  [&](caf::error& e) { reply = "error: " + to_string(e); });
        };
        if (op == "put")
          answer(key, value);
        else
          answer(key);
        write_line(sock, reply);
      }
      caf::anon_send_exit(me, caf::exit_reason::normal);
    }}.detach();
  }};
}
PROCTOR_ACTOR(session);
PROCTOR_MESSAGE_TYPE(proctor::fd); // a connection travels to its session

// Accepts connections on `listening` and starts a session for each through
// the supervisor registered as "sessions", whichever incarnation that is.
caf::behavior acceptor(caf::event_based_actor* self, int listening) {
  self->send(self, caf::atom("accept"));
  return {[self, listening](caf::atom_value) {
    int conn = ::accept(listening, nullptr, nullptr);
    if (conn < 0) {
      self->quit();
      return;
    }
    auto sessions = proctor::supervisor::attach(proctor::whereis("sessions"));
    auto s = sessions.start_child(session);
    self->send(s, caf::atom("serve"), proctor::fd{conn});
    self->send(self, caf::atom("accept"));
  }};
}

// A client connection with a 30 s bound on every reply.
struct client {
  int fd;
  explicit client(unsigned short port) : fd(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval limit{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
  }
  ~client() {
    ::close(fd);
  }
  std::string say(const std::string& line) {
    write_line(fd, line);
    std::string reply;
    return read_line(fd, reply) ? reply : "(connection closed)";
  }
};

int session_pid(proctor::supervisor& sessions, std::size_t index) {
  return sessions.which_children().at(index).pid;
}

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::supervisor_spec sessions_spec;
  sessions_spec.strategy = proctor::strategy::simple_one_for_one;
  auto model = proctor::child_spec::actor("session", session);
  model.where = proctor::placement::in_own_process();
  model.restart = proctor::restart::temporary; // a session lives as long as its connection
  sessions_spec.children.push_back(model);

  proctor::supervisor_spec app_spec;
  app_spec.strategy = proctor::strategy::rest_for_one;
  auto store = proctor::child_spec::actor("cache", cache);
  store.name = "cache";
  app_spec.children.push_back(store);
  auto sessions_child = proctor::child_spec::supervisor("sessions", sessions_spec);
  sessions_child.name = "sessions";
  app_spec.children.push_back(sessions_child);
  proctor::supervisor app{rt, app_spec, "app"};

  int listening = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listening, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::listen(listening, 16) != 0
      || ::getsockname(listening, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return 1;
  auto port = ntohs(addr.sin_port);
  auto accepting = rt.system().spawn<caf::detached>(acceptor, listening);

  client one{port}, two{port};
  std::cout << "client 1: put color blue -> " << one.say("put color blue") << '\n';
  std::cout << "client 2: get color -> " << two.say("get color") << '\n';

  auto sessions = proctor::supervisor::attach(proctor::whereis("sessions"));
  ::kill(session_pid(sessions, 1), SIGKILL);
  std::cout << "killed the session process of client 2\n";
  std::cout << "client 2: get color -> " << two.say("get color") << '\n';
  std::cout << "client 1: get color -> " << one.say("get color") << '\n';

  std::size_t restarts = 0;
  std::mutex mtx;
  std::condition_variable cv;
  auto token = app.subscribe([&](const proctor::supervisor_event& e) {
    if (e.kind == proctor::supervisor_event::restarted) {
      std::lock_guard<std::mutex> guard{mtx};
      ++restarts;
      cv.notify_all();
    }
  });
  caf::anon_send_exit(proctor::whereis("cache"), caf::exit_reason::kill);
  {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait_for(guard, 30s, [&] { return restarts >= 2; });
  }
  app.unsubscribe(token);
  std::cout << "killed the cache: rest_for_one restarted the cache and the sessions\n";
  std::cout << "client 1: get color -> " << one.say("get color") << '\n';
  client three{port};
  std::cout << "client 3: get color -> '" << three.say("get color") << "' (a new cache)\n";

  ::shutdown(listening, SHUT_RDWR);
  ::close(listening);
  caf::scoped_actor self{rt.system()};
  self->wait_for(accepting);
}
