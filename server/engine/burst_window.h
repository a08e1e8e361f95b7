// BurstWindow: one identity's recent qualifying events and its CLI-burst episodes
// (spec §2), for both window modes.
//
// Events may arrive in any order within `max_lateness` of the identity's newest;
// each Add re-evaluates only the windows the new event can change, so the final
// episodes (and their alerts) are those the full event set defines, whatever the
// arrival order or batching.
//
//   BurstWindow w(identity_info);
//   AddResult r = w.Add(event, ctx);   // ctx collects NEW/UPDATED alerts
#ifndef TRAILSENTRY_SERVER_ENGINE_BURST_WINDOW_H_
#define TRAILSENTRY_SERVER_ENGINE_BURST_WINDOW_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "server/engine/alert.h"
#include "server/engine/config.h"
#include "server/engine/event_time.h"
#include "server/engine/state_store.h"
#include "server/engine/string_pool.h"

namespace trailsentry::engine {

// A qualifying event as the caller hands it over (views valid during Add).
struct BurstInput {
  AlertEventFields fields;
  std::string_view identity_type;
  std::string_view user_name;
};

// Shared, per-shard state an Add works with.
struct BurstContext {
  const Config* config = nullptr;
  // The newest event time of the identity, this event included. The caller keeps
  // it (over all the identity's events) and has already rejected late events.
  EventTime identity_newest = 0;
  std::string_view tenant;
  std::string_view identity;
  StringPool* pool = nullptr;
  std::vector<AlertChange>* changes = nullptr;  // appended to
};

struct AddResult {
  // The alert whose episode now holds the event, if it opened or updated one.
  std::string alert_id;
};

class BurstWindow {
 public:
  BurstWindow() = default;
  BurstWindow(const BurstWindow&) = delete;
  BurstWindow& operator=(const BurstWindow&) = delete;
  ~BurstWindow() = default;

  AddResult Add(const BurstInput& input, BurstContext& ctx);

  // Rebuilds a window after an eviction or a restart from its logged events
  // (kBurst records) and the open burst alerts they belong to: each event within
  // an alert's span is tagged with it, then one silent rescan reconciles, so the
  // alerts keep their ids and content and a burst split by the restart fires once.
  // Duplicates never reach the window: the engine drops them first.
  void Restore(const std::vector<LoggedEvent>& events, const std::vector<Alert>& open_alerts,
               BurstContext& ctx);

  // Frees every pooled string this window holds; call before destroying it.
  void ReleaseAll(StringPool& pool);

  size_t retained_events() const { return events_.size(); }
  // The distinct actions among the retained events, sorted.
  std::vector<std::string> Actions(const StringPool& pool) const;
  std::vector<const Alert*> OpenAlerts() const;

 private:
  struct Event {
    EventTime time;
    uint32_t action, provider, source_ip, region, user_agent, access_key, account;
    uint32_t long_event_id;  // pooled eventID when longer than the inline buffer
    uint32_t alert;          // serial of the alert whose episode holds it; 0: none
    uint8_t event_id_size;
    char event_id[39];
  };
  struct OpenAlert {
    Alert alert;
    EventTime fire_time = 0;  // the firing time the episode opened at
  };
  // Scan state carried across pruned events.
  struct Tail {
    uint32_t alert = 0;
    EventTime last = 0;
  };

  Event Intern(const BurstInput& in, StringPool& pool) const;
  AlertEventFields Fields(const Event& e, const StringPool& pool) const;
  void RescanSliding(size_t first, BurstContext& ctx);
  void RescanTumbling(size_t index, BurstContext& ctx);
  void CreateAlert(uint32_t serial, EventTime window_start, EventTime window_end, EventTime fire,
                   BurstContext& ctx);
  static void ReleaseStrings(const Event& e, StringPool& pool);
  void Prune(const Config& config, EventTime newest, StringPool& pool);
  void Report(uint32_t serial, bool is_new, BurstContext& ctx);

  std::vector<Event> events_;  // sorted by (time, action, event id)
  absl::flat_hash_map<uint32_t, std::unique_ptr<OpenAlert>> alerts_;
  uint32_t next_serial_ = 1;
  Tail tail_;
  std::string identity_type_, user_name_;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_BURST_WINDOW_H_
