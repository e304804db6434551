#pragma once
// The flow exporter: records queued by the policy thread are sent to every collector by
// the exporter thread ("ivs-ipfix"), never by the datapath and never by the policy thread
// itself (a send is a syscall per message).
//  - queue: bounded (config queue_records); a full queue drops the record, counted; the
//    policy thread holds the queue's mutex only to append (the exporter swaps it out);
//  - templates: sent to a collector before its first records and every
//    template_interval_seconds;
//  - collectors: added and removed at runtime (ivctl flow-export add/del), each with its own
//    socket, sequence number and counters.
//
// Threads: push() from the policy thread; add()/remove()/snapshot() from control threads;
// the rest on the exporter thread.
#include <atomic>
#include <condition_variable>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/counter.hpp"
#include "config/model.hpp"
#include "flowexport/collector.hpp"
#include "flowexport/record.hpp"

namespace ivs::flowexport {

struct ExporterStats {
  Counter records_queued, queue_full;
};

struct CollectorSnapshot {
  std::string target, address;
  uint64_t messages = 0, records = 0, templates = 0, send_errors = 0, records_dropped = 0;
  int last_errno = 0;
};

class Exporter {
 public:
  explicit Exporter(const config::FlowExportConfig& cfg);
  ~Exporter();
  // Opens the configured collectors (an unresolvable one is an error: nothing started).
  std::expected<void, std::string> open();
  void start();
  // Sends what is queued, then stops the thread.
  void stop();

  bool wanted() const noexcept { return n_collectors_.load(std::memory_order_relaxed) > 0; }
  uint32_t active_timeout_s() const noexcept { return cfg_.active_timeout_s; }
  const config::FlowExportConfig& config() const { return cfg_; }

  // Policy thread: queue one record (dropped, counted, when the queue is full).
  void push(FlowRecord&& r);
  // Control thread.
  std::expected<void, std::string> add(const std::string& target);
  std::expected<void, std::string> remove(const std::string& target);
  std::vector<CollectorSnapshot> snapshot() const;
  const ExporterStats& stats() const { return stats_; }
  size_t queued() const;
  // The records waiting, taken out of the queue (the exporter thread; tests).
  std::vector<FlowRecord> take_queued();

 private:
  void run();
  void flush(std::vector<FlowRecord>& batch);
  uint32_t now_s() const;

  config::FlowExportConfig cfg_;
  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::vector<FlowRecord> queue_;
  mutable std::mutex collectors_mutex_;  // the list; the exporter thread holds it while sending
  std::vector<std::unique_ptr<Collector>> collectors_;
  std::atomic<size_t> n_collectors_{0};
  std::thread thread_;
  std::atomic<bool> running_{false};
  ExporterStats stats_;
};

}  // namespace ivs::flowexport
