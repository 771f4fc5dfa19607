// The records of the pool's task and result batches (see pool_protocol.hpp).
#include "runtime/pool/pool_protocol.hpp"

#include <caf/binary_serializer.hpp>

#include "proctor/detail/bounded_deserializer.hpp"

namespace proctor::internal {

namespace {

// Byte blobs go as a length and raw bytes; the reader checks the length
// against what is left before it allocates.
void write_blob(caf::binary_serializer& sink, const char* data, std::size_t size) {
  auto n = static_cast<std::uint32_t>(size);
  sink(n);
  if (n > 0)
    sink.apply_raw(n, const_cast<char*>(data));
}

template <class Container>
bool read_blob(bounded_deserializer& source, Container& out) {
  std::uint32_t n = 0;
  if (source(n) || n > source.remaining())
    return false;
  out.resize(n);
  return n == 0 || !source.apply_raw(n, out.data());
}

} // namespace

void append_task(std::vector<char>& batch, std::uint64_t id, const std::string& name,
                 std::uint32_t count, const std::string& args) {
  caf::binary_serializer sink{nullptr, batch};
  sink(id, const_cast<std::string&>(name), count);
  write_blob(sink, args.data(), args.size());
}

void append_result(std::vector<char>& batch, const result_record& r) {
  caf::binary_serializer sink{nullptr, batch};
  auto& x = const_cast<result_record&>(r);
  sink(x.id, x.code, x.run_us);
  if (r.code == 0)
    write_blob(sink, r.bytes.data(), r.bytes.size());
  else
    sink(x.type, x.what);
}

template <class Decode>
bool batch_reader::read(Decode decode) {
  if (malformed_ || batch_.empty())
    return false;
  bounded_deserializer source{nullptr, batch_.data(), batch_.size()};
  if (!decode(source)) {
    malformed_ = true;
    return false;
  }
  batch_ = batch_.subspan(batch_.size() - source.remaining());
  return true;
}

bool batch_reader::next(task_record& out) {
  return read([&](bounded_deserializer& source) {
    return !source(out.id, out.name, out.count) && read_blob(source, out.args);
  });
}

bool batch_reader::next(result_record& out) {
  return read([&](bounded_deserializer& source) {
    if (source(out.id, out.code, out.run_us))
      return false;
    if (out.code == 0)
      return read_blob(source, out.bytes);
    out.bytes.clear();
    return !source(out.type, out.what);
  });
}

} // namespace proctor::internal
