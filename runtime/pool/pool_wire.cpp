// The records of the pool's task and result batches (see pool_protocol.hpp).
#include "runtime/pool/pool_protocol.hpp"

#include "actors/wire/records.hpp"

namespace proctor::internal {

void append_task(std::vector<char>& batch, std::uint64_t id, const std::string& name,
                 std::uint32_t count, std::uint32_t segment_base,
                 std::uint32_t segment_count, std::string_view args) {
  record_writer{batch}.fields(id, name, count, segment_base, segment_count).blob(args);
}

void append_result(std::vector<char>& batch, const result_record& r) {
  record_writer out{batch};
  out.fields(r.id, r.code, r.run_us);
  if (r.code == 0)
    out.fields(r.segment_base, r.segment_count).blob(r.bytes);
  else
    out.fields(r.type, r.what);
}

template <class Decode>
bool batch_reader::read(Decode decode) {
  if (malformed_ || batch_.empty())
    return false;
  record_reader in{batch_};
  if (!decode(in)) {
    malformed_ = true;
    return false;
  }
  batch_ = batch_.subspan(batch_.size() - in.remaining());
  return true;
}

bool batch_reader::next(task_record& out) {
  return read([&](record_reader& in) {
    return in.fields(out.id, out.name, out.count, out.segment_base, out.segment_count)
           && in.view(out.args);
  });
}

bool batch_reader::next(result_record& out) {
  return read([&](record_reader& in) {
    if (!in.fields(out.id, out.code, out.run_us))
      return false;
    if (out.code == 0)
      return in.fields(out.segment_base, out.segment_count) && in.blob(out.bytes);
    out.bytes.clear();
    return in.fields(out.type, out.what);
  });
}

} // namespace proctor::internal
