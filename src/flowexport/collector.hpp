#pragma once
// One IPFIX collector: a connected, non-blocking UDP socket and its own encoder (its
// sequence number) and counters. A send never waits: a full socket buffer, a collector
// that went away (ICMP port unreachable -> ECONNREFUSED on the next send) or no route
// drop that message, counted.
//
// Thread: the exporter thread sends; counters are read by any thread.
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/counter.hpp"
#include "flowexport/ipfix.hpp"

namespace ivs::flowexport {

struct CollectorStats {
  Counter messages, records, templates, send_errors, records_dropped;
  std::atomic<int> last_errno{0};
};

class Collector {
 public:
  // `target`: "host:port" (resolved now: a name is looked up once).
  static std::expected<std::unique_ptr<Collector>, std::string> open(const std::string& target, uint32_t domain,
                                                                     uint32_t enterprise, size_t max_message);
  ~Collector();
  const std::string& target() const { return target_; }
  const std::string& address() const { return address_; }  // the resolved address, "ip:port"
  const CollectorStats& stats() const { return stats_; }

  // Sends the templates when they are due (first send, every `interval_s`), then the records.
  void send(std::span<const FlowRecord> records, uint32_t now_s, uint32_t interval_s);
  void send_templates(uint32_t now_s);

 private:
  Collector() = default;
  bool send_message(const std::vector<uint8_t>& m);
  std::string target_, address_;
  int fd_ = -1;
  IpfixEncoder encoder_{0, 0, 0};
  bool templates_sent_ = false;
  uint32_t templates_at_s_ = 0;
  CollectorStats stats_;
};

}  // namespace ivs::flowexport
