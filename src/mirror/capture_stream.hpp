#pragma once
// `ivctl capture PORT [FILTER]`: a live capture streamed to the client as pcap.
//
// The capture is a mirror (taps on the port, the filter) whose one tool is a stream: the
// broker appends each copy, as a pcap record (nanosecond timestamps), to this bounded
// buffer; the control server's connection thread takes what is there and sends it. A
// reader slower than the traffic loses copies (counted), never slows switching.
//
// On the wire (control socket, HTTP chunked body) the stream is a sequence of frames
// `u32 length (little endian) + bytes`: the first holds the pcap file header, each later
// one a record; a zero-length frame is a keep-alive sent when nothing was captured for a
// second, so a client that went away is noticed and the capture removed.
#include <rte_mbuf.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "mirror/wall_clock.hpp"

namespace ivs::mirror {

class CaptureStream {
 public:
  explicit CaptureStream(size_t capacity_bytes = 4u << 20);
  // Broker thread: one record (the copy, its length before slicing, when it was seen).
  // False when the buffer is full (counted in dropped()).
  bool push(const rte_mbuf* copy, uint32_t orig_len, uint64_t tsc) noexcept;
  // Connection thread: appends the frames queued (the file header first), waiting up to
  // `wait` for one; returns the number of frames appended.
  size_t take(std::string& out, std::chrono::milliseconds wait);
  // The capture was removed (ivctl mirror del, shutdown): the reader ends the stream.
  void close() {
    {
      std::lock_guard lock(mutex_);  // a waiter between its check and its wait still wakes
      closed_.store(true);
    }
    ready_.notify_all();
  }
  bool closed() const { return closed_.load(); }
  uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Broker thread: whether the reader is behind (Broker::publish_tools_full), with
  // hysteresis: backed up once less than 1/16 of the buffer is free, free again once the
  // reader took it down to half (a reader takes everything queued at once, so a reader
  // that resumes frees it at its first read).
  bool backed_up(bool was) const noexcept {
    const size_t queued = queued_bytes_.load(std::memory_order_relaxed);
    return was ? queued > capacity_ / 2 : queued > capacity_ - capacity_ / 16;
  }

  static std::string file_header();  // the pcap file header (also the first frame's body)

 private:
  const size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::string pending_;              // framed records not yet taken
  size_t frames_ = 0;
  const WallClock clock_;
  std::atomic<uint64_t> delivered_{0}, dropped_{0};
  std::atomic<size_t> queued_bytes_{0};  // pending_.size(), readable without the lock
  std::atomic<bool> closed_{false};
};

}  // namespace ivs::mirror
