// The harness's only contact with the switch's API (see sut.hpp). Trees with
// daemon/builder.hpp are built through it, as ivswitchd is; older trees (before the
// builder existed) through the same calls ivswitchd made inline then.
#include "sut.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "config/loader.hpp"
#include "dpdk/eal.hpp"
#include "pipeline/datapath.hpp"
#if __has_include("mirror/module.hpp")
#include "mirror/module.hpp"
#define IVS_BENCH_HAVE_MIRROR_MODULE 1
#endif
#if __has_include("daemon/builder.hpp")
#include "daemon/builder.hpp"
#define IVS_BENCH_HAVE_BUILDER 1
#endif

namespace ivs::bench {

struct SwitchUnderTest::Impl {
  std::unique_ptr<pipeline::Datapath> dp;
  bool running = false;
#ifdef IVS_BENCH_HAVE_MIRROR_MODULE
  mirror::MirrorModule* mirrors() const {
    for (const auto& m : dp->modules())
      if (m->name() == mirror::MirrorModule::kName) return static_cast<mirror::MirrorModule*>(m.get());
    return nullptr;
  }
  std::vector<mirror::MirrorModule::Capture> stalled;  // streams nobody reads
#endif
};

SwitchUnderTest::SwitchUnderTest(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::expected<std::unique_ptr<SwitchUnderTest>, std::string> SwitchUnderTest::build(const std::string& config_path) {
  std::ifstream in(config_path);
  if (!in) return std::unexpected(config_path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  // load_file() would refuse the ring ports (the daemon has nobody to feed them; here the
  // harness does): the same loader and checks otherwise.
  auto cfg = config::load_string(text.str(), config_path, false);
  if (!cfg) {
    std::string all;
    for (const auto& e : cfg.error()) all += e + "\n";
    return std::unexpected(all);
  }
  auto impl = std::make_unique<Impl>();
#ifdef IVS_BENCH_HAVE_BUILDER
  auto built = daemon::build_switch(*cfg);
  if (!built) return std::unexpected(built.error());
  impl->dp = std::move(built->datapath);
#else
  const unsigned n_pmds_guess = cfg->sw.cores.empty() ? 1 : static_cast<unsigned>(cfg->sw.cores.size());
  auto plan = dpdk::plan_eal(*cfg, pipeline::Datapath::mbufs_for(*cfg, n_pmds_guess));
  if (!plan) return std::unexpected(plan.error());
  if (auto ok = dpdk::eal_start(*plan); !ok) return std::unexpected(ok.error());
  auto dp = pipeline::Datapath::create(*cfg, static_cast<unsigned>(plan->pmd_cpus.size()), plan->pmd_cpus);
  if (!dp) {
    dpdk::eal_stop();
    return std::unexpected(dp.error());
  }
  impl->dp = std::move(*dp);
#endif
  return std::unique_ptr<SwitchUnderTest>(new SwitchUnderTest(std::move(impl)));
}

SwitchUnderTest::~SwitchUnderTest() {
  stop();
  impl_->dp.reset();
  dpdk::eal_stop();
}

void SwitchUnderTest::start() {
  impl_->dp->start();
  impl_->running = true;
}

void SwitchUnderTest::maintain() { impl_->dp->maintain(); }

void SwitchUnderTest::stop() {
  if (impl_->running) impl_->dp->stop();
  impl_->running = false;
}

Totals SwitchUnderTest::totals() const {
  Totals t;
  for (const auto& p : impl_->dp->pmds()) {
    t.busy_cycles += p.busy_cycles;
    t.idle_cycles += p.idle_cycles;
    t.packets += p.packets;
    t.iterations += p.iterations;
    t.pmd_tids.push_back(p.tid);
  }
  for (const auto& p : impl_->dp->ports()) {
    PortTotals pt{p.name, p.rx_packets, p.tx_packets, p.drops_total, ""};
    const auto top = std::max_element(p.drops.begin(), p.drops.end());
    if (*top > 0) pt.top_drop = std::string(drop_reason_name(static_cast<DropReason>(top - p.drops.begin())));
    t.ports.push_back(std::move(pt));
  }
#ifdef IVS_BENCH_HAVE_MIRROR_MODULE
  if (const auto* mm = impl_->mirrors()) {
    const auto view = mm->view();  // (a temporary's subscript would dangle in the loop)
    for (const auto& m : view["mirrors"])
      for (const auto& [k, v] : m["packets"].items())
        if (v.is_number_unsigned()) t.mirror_packets[k] += v.get<uint64_t>();
  }
#endif
  const auto stats = impl_->dp->stats();
  for (size_t e = 0; e < stats.events.size(); ++e) t.events[std::string(pipeline::kEventInfo[e].name)] = stats.events[e];
  return t;
}

std::string SwitchUnderTest::stall_capture(const std::string& port) {
#ifdef IVS_BENCH_HAVE_MIRROR_MODULE
  auto* mm = impl_->mirrors();
  if (!mm) return "no mirror module";
  auto c = mm->capture_start(port, "rx", "", 0);
  if (!c) return c.error();
  impl_->stalled.push_back(std::move(*c));
  return "";
#else
  (void)port;
  return "this tree has no mirror module";
#endif
}

}  // namespace ivs::bench
