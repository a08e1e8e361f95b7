#include "server/delivery/webhook_sink.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/engine/absl_view.h"
#include "server/engine/alert_ocsf.h"

namespace trailsentry::delivery {
namespace {

constexpr size_t kBatch = 64;  // changes read from the log at a time
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(500);

std::string CursorName(std::string_view sink) { return absl::StrCat("webhook/", AbslView(sink)); }

absl::StatusOr<std::string> ReadSecret(const engine::WebhookConfig& config) {
  std::ifstream in(config.secret_file, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook ", config.name, ": cannot read secret_file ", config.secret_file));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string secret(absl::StripTrailingAsciiWhitespace(ss.str()));
  if (secret.size() < 16) {
    return absl::InvalidArgumentError(absl::StrCat("webhook ", config.name, ": secret_file ",
                                                   config.secret_file,
                                                   " holds fewer than 16 bytes of key"));
  }
  return secret;
}

}  // namespace

std::string SignBody(std::string_view key, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return absl::StrCat("sha256=",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), len)));
}

absl::StatusOr<std::unique_ptr<WebhookSink>> WebhookSink::Start(
    storage::Database* db, const engine::WebhookConfig& config) {
  absl::StatusOr<std::string> secret = ReadSecret(config);
  if (!secret.ok()) return secret.status();
  absl::StatusOr<std::optional<int64_t>> cursor = db->ReadCursor(CursorName(config.name));
  if (!cursor.ok()) return cursor.status();
  int64_t start = cursor->value_or(0);
  if (!cursor->has_value()) {
    start = db->change_range().last;
    if (absl::Status s = db->WriteCursor(CursorName(config.name), start); !s.ok()) return s;
    spdlog::info("webhook {}: new; delivers the changes after sequence {}", config.name, start);
  }
  std::unique_ptr<WebhookSink> sink(new WebhookSink(db, config, *std::move(secret), start));
  const size_t scheme_end = config.url.find("://") + 3;
  const size_t path_start = config.url.find('/', scheme_end);
  sink->scheme_host_port_ = config.url.substr(0, path_start);
  sink->path_ = path_start == std::string::npos ? "/" : config.url.substr(path_start);
  sink->thread_ = std::thread([s = sink.get()] { s->Run(); });
  return sink;
}

WebhookSink::WebhookSink(storage::Database* db, engine::WebhookConfig config, std::string secret,
                         int64_t cursor)
    : db_(db), config_(std::move(config)), secret_(std::move(secret)), cursor_(cursor) {}

WebhookSink::~WebhookSink() {
  {
    engine::MutexLock lock(&mu_);
    stop_ = true;
    mu_.NotifyAll();
  }
  if (thread_.joinable()) thread_.join();
}

WebhookSink::Stats WebhookSink::stats() const {
  return {.cursor = cursor_.load(),
          .delivered = delivered_.load(),
          .retried = retried_.load(),
          .dropped = dropped_.load()};
}

bool WebhookSink::Sleep(absl::Duration d, bool until_change) {
  engine::MutexLock lock(&mu_);
  if (until_change && changed_) {
    changed_ = false;
    return true;
  }
  mu_.AwaitFor(
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || (until_change && changed_); },
      absl::ToChronoMilliseconds(d));
  if (until_change) changed_ = false;
  return !stop_;
}

void WebhookSink::Advance(int64_t sequence) {
  cursor_.store(sequence);
  if (absl::Status s = db_->WriteCursor(CursorName(config_.name), sequence); !s.ok()) {
    // Delivered again after a restart: at least once still holds.
    spdlog::warn("webhook {}: cannot store its cursor: {}", config_.name, std::string(s.message()));
  }
}

absl::Status WebhookSink::Post(const v1::AlertChange& change) {
  std::string body;
  if (config_.ocsf) {
    body = engine::OcsfJson(change);
  } else {
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(change, &body, options);
  }
  httplib::Client client(scheme_host_port_);
  const auto timeout = absl::ToChronoMicroseconds(config_.timeout);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  if (!config_.ca_file.empty()) client.set_ca_cert_path(config_.ca_file.c_str());
  client.enable_server_certificate_verification(true);
  const httplib::Headers headers = {
      {"X-Trailsentry-Signature", SignBody(secret_, body)},
      {"X-Trailsentry-Sequence", std::to_string(change.sequence())},
      {"X-Trailsentry-Change", v1::AlertChange::Kind_Name(change.kind())},
      {"User-Agent", "trailsentry-webhook"}};
  httplib::Result r = client.Post(path_, headers, body, "application/json");
  if (!r) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach ", config_.url, ": ", httplib::to_string(r.error())));
  }
  if (r->status < 200 || r->status > 299) {
    return absl::UnavailableError(absl::StrCat(config_.url, " answered ", r->status));
  }
  return absl::OkStatus();
}

void WebhookSink::Run() {
  const int listener = db_->AddChangeListener([this](int64_t) {
    engine::MutexLock lock(&mu_);
    changed_ = true;
    mu_.NotifyAll();
  });
  for (;;) {
    {
      engine::MutexLock lock(&mu_);
      if (stop_) break;
    }
    const int64_t cursor = cursor_.load();
    const storage::ChangeRange range = db_->change_range();
    if (cursor + 1 < range.first) {
      dropped_.fetch_add(static_cast<uint64_t>(range.first - 1 - cursor));
      spdlog::error(
          "webhook {}: changes {} to {} were pruned from the change log before "
          "delivery (down longer than server.alerts.change_retention)",
          config_.name, cursor + 1, range.first - 1);
      Advance(range.first - 1);
      continue;
    }
    int64_t scanned = cursor;
    absl::StatusOr<std::vector<v1::AlertChange>> changes =
        db_->ReadChanges(cursor, kBatch, config_.tenant, &scanned);
    if (!changes.ok()) {
      spdlog::error("webhook {}: reading the change log: {}", config_.name,
                    std::string(changes.status().message()));
      if (!Sleep(absl::Seconds(1), false)) break;
      continue;
    }
    if (changes->empty()) {
      if (scanned > cursor) Advance(scanned);  // only other tenants' changes
      // Woken by the next commit's listener, or after a second.
      if (!Sleep(absl::Seconds(1), true)) break;
      continue;
    }
    bool stopped = false;
    for (const v1::AlertChange& change : *changes) {
      absl::Duration backoff = kFirstBackoff;
      for (;;) {
        absl::Status s = Post(change);
        if (s.ok()) {
          delivered_.fetch_add(1);
          break;
        }
        retried_.fetch_add(1);
        spdlog::warn("webhook {}: change {} not delivered ({}); retrying in {}", config_.name,
                     change.sequence(), std::string(s.message()), absl::FormatDuration(backoff));
        if (!Sleep(backoff, false)) {
          stopped = true;
          break;
        }
        backoff = std::min(backoff * 2, config_.max_backoff);
        if (db_->change_range().first > change.sequence()) {
          dropped_.fetch_add(1);
          spdlog::error("webhook {}: change {} was pruned from the change log before delivery",
                        config_.name, change.sequence());
          break;
        }
      }
      if (stopped) break;
      Advance(change.sequence());
    }
    if (stopped) break;
    if (scanned > cursor_.load()) Advance(scanned);
  }
  db_->RemoveChangeListener(listener);
}

}  // namespace trailsentry::delivery
