#include "flowexport/exporter.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace ivs::flowexport {

namespace {
constexpr auto kTick = std::chrono::milliseconds(100);  // records wait at most this long; templates checked as often
constexpr size_t kMaxCollectors = 16;
}  // namespace

Exporter::Exporter(const config::FlowExportConfig& cfg) : cfg_(cfg) { queue_.reserve(std::min<size_t>(cfg.queue_records, 4096)); }

Exporter::~Exporter() { stop(); }

uint32_t Exporter::now_s() const {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::expected<void, std::string> Exporter::open() {
  for (const auto& c : cfg_.collectors)
    if (auto ok = add(c); !ok) return ok;
  return {};
}

std::expected<void, std::string> Exporter::add(const std::string& target) {
  std::lock_guard lock(collectors_mutex_);
  if (collectors_.size() >= kMaxCollectors) return std::unexpected(fmt::format("at most {} collectors", kMaxCollectors));
  for (const auto& c : collectors_)
    if (c->target() == target) return std::unexpected(fmt::format("collector {} exists", target));
  auto c = Collector::open(target, cfg_.observation_domain, cfg_.enterprise_number, cfg_.max_message_bytes);
  if (!c) return std::unexpected(c.error());
  spdlog::info("flow export: collector {} ({})", target, (*c)->address());
  collectors_.push_back(std::move(*c));
  n_collectors_.store(collectors_.size());
  return {};
}

std::expected<void, std::string> Exporter::remove(const std::string& target) {
  std::lock_guard lock(collectors_mutex_);
  const auto it = std::find_if(collectors_.begin(), collectors_.end(), [&](const auto& c) { return c->target() == target; });
  if (it == collectors_.end()) return std::unexpected(fmt::format("no collector {}", target));
  collectors_.erase(it);
  n_collectors_.store(collectors_.size());
  spdlog::info("flow export: collector {} removed", target);
  return {};
}

std::vector<CollectorSnapshot> Exporter::snapshot() const {
  std::lock_guard lock(collectors_mutex_);
  std::vector<CollectorSnapshot> out;
  for (const auto& c : collectors_) {
    const CollectorStats& s = c->stats();
    out.push_back({c->target(), c->address(), s.messages.get(), s.records.get(), s.templates.get(), s.send_errors.get(),
                   s.records_dropped.get(), s.last_errno.load(std::memory_order_relaxed)});
  }
  return out;
}

size_t Exporter::queued() const {
  std::lock_guard lock(queue_mutex_);
  return queue_.size();
}

std::vector<FlowRecord> Exporter::take_queued() {
  std::vector<FlowRecord> out;
  std::lock_guard lock(queue_mutex_);
  out.swap(queue_);
  return out;
}

void Exporter::push(FlowRecord&& r) {
  {
    std::lock_guard lock(queue_mutex_);
    if (queue_.size() >= cfg_.queue_records) {
      stats_.queue_full.inc();
      return;
    }
    queue_.push_back(std::move(r));
  }
  stats_.records_queued.inc();
}

void Exporter::start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ivs-ipfix");
    run();
  });
}

void Exporter::stop() {
  if (!running_.exchange(false)) return;
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Exporter::flush(std::vector<FlowRecord>& batch) {
  const uint32_t now = now_s();
  std::lock_guard lock(collectors_mutex_);
  for (auto& c : collectors_) c->send(batch, now, cfg_.template_interval_s);
  batch.clear();
}

void Exporter::run() {
  std::vector<FlowRecord> batch;
  batch.reserve(queue_.capacity());
  for (;;) {
    const bool last = !running_.load();
    {
      std::unique_lock lock(queue_mutex_);
      if (!last) queue_cv_.wait_for(lock, kTick, [&] { return !running_.load(); });
      batch.swap(queue_);
    }
    flush(batch);  // also sends templates when they are due, records or not
    if (last) return;
  }
}

}  // namespace ivs::flowexport
