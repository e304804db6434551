#pragma once
// The forwarding tables as the control threads see them now: the start's, then those a
// reload that adds or removes ports publishes (docs/architecture.md, "Ports that come and
// go"). The datapath threads do not read this: each forwards with the tables of its rx
// list (RxList::tables), published with it. A module keeps a reference to the Datapath's
// (ModuleEnv::tables) and takes a snapshot where it reads them (a view, a reload's plan,
// a stage it makes), kept alive while held, whatever a reload publishes meanwhile; a
// port's index in them is its slot in the port table.
//
// Threads: any control thread; set() by the thread applying a reload.
#include <memory>
#include <mutex>
#include <utility>

namespace ivs::forward {
class ForwardingTables;
}
namespace ivs::pipeline {

class SharedTables {
 public:
  SharedTables() = default;
  explicit SharedTables(std::shared_ptr<const forward::ForwardingTables> t) : t_(std::move(t)) {}
  SharedTables(const SharedTables&) = delete;
  SharedTables& operator=(const SharedTables&) = delete;

  std::shared_ptr<const forward::ForwardingTables> get() const {
    std::lock_guard lock(mu_);
    return t_;
  }
  void set(std::shared_ptr<const forward::ForwardingTables> t) {
    std::lock_guard lock(mu_);
    t_ = std::move(t);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const forward::ForwardingTables> t_;
};

// Tables owned elsewhere that outlive every user (the unit tests' own), as a shared_ptr
// that owns nothing.
template <class T>
std::shared_ptr<const T> unowned(const T& t) {
  return std::shared_ptr<const T>(std::shared_ptr<const T>{}, &t);
}

}  // namespace ivs::pipeline
