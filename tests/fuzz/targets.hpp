#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

// Fuzz targets: each takes one input and must neither crash nor leak, nor
// trip a sanitizer, whatever the bytes. libFuzzer drives them one target per
// binary (entry.cpp); the test suite replays their corpora (corpus_test.cpp).
namespace proctor::fuzz {

/// The 12-byte frame header decoder.
int frame_header(const std::uint8_t* data, std::size_t size);

/// A sequence of frames into one connection, acceptor side. The input is
/// records: u8 op, u16 length (big-endian), bytes. op 0 writes the bytes raw;
/// 1 writes a frame of kind bytes[0] with the rest as payload; 2 writes a
/// well-formed hello; 3 writes the proof the key would give, so that inputs
/// get past the handshake and reach what follows it.
int handshake(const std::uint8_t* data, std::size_t size);

/// An actor frame (message, monitor, down, node_down: the first byte picks)
/// decoded and handled by a router.
int actor_frame(const std::uint8_t* data, std::size_t size);

/// The pool's task and result batch records, and their round trip.
int pool_batch(const std::uint8_t* data, std::size_t size);

/// The queue's put and delivery batches, and their round trip.
int queue_batch(const std::uint8_t* data, std::size_t size);

/// Control request and reply payloads (spawn, lookup).
int control(const std::uint8_t* data, std::size_t size);

/// A batch's segment_list (inline, sealed and loan forms) with descriptors
/// of every kind beside it: the first byte picks them.
int segment_list(const std::uint8_t* data, std::size_t size);

struct target {
  const char* name;
  int (*run)(const std::uint8_t*, std::size_t);
};

/// Every target, by the name of its corpus folder.
std::span<const target> all_targets();

} // namespace proctor::fuzz
