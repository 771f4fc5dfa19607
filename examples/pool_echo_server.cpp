// Mirrors the seed's TCP server on a Pool (server.accept(), then
// p.apply_async(talk, args=(conn, client_addr))): the master accepts the
// connections and hands each one, the descriptor itself, to a pool worker,
// which answers every message in upper case. The seed's six clients are
// threads of this program here, so that it ends by itself; with fewer
// workers than clients, some clients wait until a worker is free, and every
// reply comes from one of the pool's few pids.
#include <proctor/proctor.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using boost::asio::ip::tcp;

// Serves one connection until the client closes it.
void talk(proctor::fd conn) {
  std::cout << "pid: " << ::getpid() << std::endl;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(conn.get(), buf, sizeof buf)) > 0) {
    std::transform(buf, buf + n, buf, [](unsigned char c) { return std::toupper(c); });
    if (::write(conn.get(), buf, static_cast<std::size_t>(n)) != n)
      break;
  }
}
PROCTOR_TASK(talk);

// One of the seed's clients: a message, its answer, and goodbye.
std::string client(unsigned short port, int i) {
  boost::asio::io_context io;
  tcp::socket s{io};
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  std::string msg = "hello from client " + std::to_string(i);
  boost::asio::write(s, boost::asio::buffer(msg));
  std::string reply(msg.size(), '\0');
  boost::asio::read(s, boost::asio::buffer(reply));
  return reply;
}

int main(int argc, char** argv) {
  proctor::runtime rt{argc, argv};
  proctor::pool p{rt, {.processes = 2}};
  boost::asio::io_context io;
  tcp::acceptor server{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  auto port = server.local_endpoint().port();

  constexpr int clients = 6;
  std::vector<std::string> replies(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] { replies[static_cast<std::size_t>(i)] = client(port, i); });

  for (int i = 0; i < clients; ++i) {
    auto conn = server.accept();
    p.apply_async(talk, proctor::fd{conn.release()});
  }
  for (auto& t : threads)
    t.join();
  for (int i = 0; i < clients; ++i)
    std::cout << "client " << i << " got: " << replies[static_cast<std::size_t>(i)] << std::endl;
  p.close();
  p.join();
}
