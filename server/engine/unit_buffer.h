// UnitBuffer: the bytes of one input unit (record_reader.h), a growable array of
// chars whose new bytes are not zero-filled. A file is read into it in 4 MiB
// steps: std::string::resize would first write zeros over each step that the
// read then overwrites, a second pass over every byte of the file (100 ns per
// 1.2 KB record, BENCHMARKS.md issue 8's twenty-fourth part).
//
// Bytes between size() and capacity() are uninitialized; simdjson may read the
// padding a unit keeps there (SIMDJSON_PADDING) but never uses its values.
//
//   UnitBuffer b;
//   b.reserve(want + simdjson::SIMDJSON_PADDING);
//   char* to = b.Extend(want);                       // `want` bytes, not initialized
//   b.Truncate(b.size() - want + std::fread(to, 1, want, f));
//   std::string_view text = b.view();
#ifndef TRAILSENTRY_SERVER_ENGINE_UNIT_BUFFER_H_
#define TRAILSENTRY_SERVER_ENGINE_UNIT_BUFFER_H_

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace trailsentry::engine {

class UnitBuffer {
 public:
  UnitBuffer() = default;
  // A moved-from buffer is empty, with no capacity.
  UnitBuffer(UnitBuffer&& other) noexcept
      : data_(std::move(other.data_)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  UnitBuffer& operator=(UnitBuffer&& other) noexcept {
    if (this != &other) {
      data_ = std::move(other.data_);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }
  UnitBuffer(const UnitBuffer&) = delete;
  UnitBuffer& operator=(const UnitBuffer&) = delete;

  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_.get(), size_}; }

  // Empties it, keeping its capacity.
  void clear() { size_ = 0; }
  // Makes room for at least `n` bytes in all, keeping the contents; grows at
  // least twofold, so a document read in steps is copied O(1) times per byte.
  void reserve(size_t n) {
    if (n <= capacity_) return;
    if (n < 2 * capacity_) n = 2 * capacity_;
    std::unique_ptr<char[]> grown(new char[n]);  // default-initialized: not zeroed
    if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_);
    data_ = std::move(grown);
    capacity_ = n;
  }
  // Appends `n` uninitialized bytes (growing it if needed) and returns where
  // they start; the caller writes them, then Truncates to what it wrote.
  char* Extend(size_t n) {
    if (n > capacity_ - size_) reserve(size_ + n);
    char* at = data_.get() + size_;
    size_ += n;
    return at;
  }
  // Keeps the first `n` bytes (n <= size()).
  void Truncate(size_t n) { size_ = n < size_ ? n : size_; }
  // Replaces the contents with `bytes` (which must not point into it).
  void assign(std::string_view bytes) {
    size_ = 0;
    if (!bytes.empty()) std::memcpy(Extend(bytes.size()), bytes.data(), bytes.size());
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0, capacity_ = 0;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_UNIT_BUFFER_H_
