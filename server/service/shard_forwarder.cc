#include "server/service/shard_forwarder.h"

#include <future>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/fleet_alerts.h"
#include "client/verdict_merge.h"
#include "server/engine/absl_view.h"
#include "server/engine/printable.h"

namespace trailsentry::service {
namespace {

// The token of an "authorization" header value ("Bearer <token>"); "" if none.
std::string TokenOf(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (!absl::StartsWith(AbslView(authorization), AbslView(kBearer))) return "";
  return std::string(authorization.substr(kBearer.size()));
}

// One owner's share of a request, in requests of at most half the message
// limit (a gzip payload's records, inflated, may be larger than the request
// was), sent one after another so each account's events stay in order.
struct Part {
  struct Chunk {
    std::vector<int> indexes;
    v1::EvaluateRequest request;
    size_t bytes = 0;
  };
  std::string owner;
  std::set<std::string> accounts;
  std::vector<Chunk> chunks;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ShardForwarder>> ShardForwarder::Create(
    const engine::ShardConfig& shard, const Options& options) {
  if (shard.replicas.empty()) {
    return absl::InvalidArgumentError("server.shard names no replicas: nothing to forward to");
  }
  std::unique_ptr<ShardForwarder> f(new ShardForwarder(shard, options));
  for (const std::string& replica : shard.replicas) {
    // No waiting for a replica that is down: its accounts' events fail in
    // seconds (after gRPC's retries), the rest of a request goes on.
    absl::StatusOr<std::unique_ptr<Client>> peer =
        Client::Connect({.target = replica,
                         .timeout = options.timeout,
                         .max_message_bytes = options.max_message_bytes,
                         .tls_ca_file = options.tls_ca,
                         .tls_cert_file = options.tls_cert,
                         .tls_key_file = options.tls_key,
                         .wait_for_ready = false});
    if (!peer.ok()) {
      return absl::Status(peer.status().code(),
                          absl::StrCat("replica ", replica, ": ", peer.status().message()));
    }
    f->peers_.emplace(replica, *std::move(peer));
  }
  return f;
}

std::unique_ptr<Client> ShardForwarder::ClientOf(std::string_view owner,
                                                 std::string_view authorization) const {
  auto it = peers_.find(AbslView(owner));
  if (it == peers_.end()) return nullptr;
  Client::Options options = it->second->options();
  options.token = TokenOf(authorization);
  return std::make_unique<Client>(it->second->channel(), std::move(options));
}

std::unique_ptr<Client> ShardForwarder::OwnerOf(std::string_view account,
                                                std::string_view authorization) const {
  const std::string_view owner = ring_.Owner(account);
  if (owner == self_) return nullptr;
  return ClientOf(owner, authorization);
}

absl::StatusOr<v1::ListAlertsResponse> ShardForwarder::ListAlerts(
    std::string_view authorization, const v1::ListAlertsRequest& request) const {
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<Client*> replicas;
  clients.reserve(ring_.replicas().size());
  replicas.reserve(ring_.replicas().size());
  for (const std::string& replica : ring_.replicas()) {
    clients.push_back(ClientOf(replica, authorization));
    replicas.push_back(clients.back().get());
  }
  return ListAlertsAcross(replicas, request);
}

absl::StatusOr<v1::Alert> ShardForwarder::OnOthers(
    std::string_view authorization, absl::FunctionRef<absl::StatusOr<v1::Alert>(Client&)> call,
    const absl::Status& not_found) const {
  for (const std::string& replica : ring_.replicas()) {
    if (replica == self_) continue;
    absl::StatusOr<v1::Alert> r = call(*ClientOf(replica, authorization));
    if (!absl::IsNotFound(r.status())) return r;
  }
  return not_found;
}

absl::Status ShardForwarder::Forward(std::string_view authorization,
                                     std::vector<ForwardedEvent> events,
                                     v1::EvaluateResponse* response) const {
  if (events.empty()) return absl::OkStatus();
  const size_t max_chunk = static_cast<size_t>(options_.max_message_bytes) / 2;
  std::vector<Part> parts;
  absl::flat_hash_map<std::string, size_t> by_owner;
  for (ForwardedEvent& e : events) {
    auto [it, inserted] = by_owner.try_emplace(e.owner, parts.size());
    if (inserted) parts.push_back(Part{.owner = e.owner});
    Part& part = parts[it->second];
    part.accounts.insert(std::move(e.account));
    const size_t bytes = e.event.ByteSizeLong();
    if (part.chunks.empty() || part.chunks.back().bytes + bytes > max_chunk)
      part.chunks.emplace_back();
    Part::Chunk& chunk = part.chunks.back();
    chunk.indexes.push_back(e.index);
    chunk.bytes += bytes;
    *chunk.request.add_events() = std::move(e.event);
  }
  // Every owner at once; each owner's chunks in order, stopping at its first
  // failure (the chunks after it are not evaluated either).
  using Answers = std::vector<absl::StatusOr<v1::EvaluateResponse>>;
  std::vector<std::future<Answers>> answers;
  answers.reserve(parts.size());
  for (const Part& part : parts) {
    answers.push_back(
        std::async(std::launch::async, [&part, c = ClientOf(part.owner, authorization)] {
          Answers out;
          out.reserve(part.chunks.size());
          for (const Part::Chunk& chunk : part.chunks) {
            // The ring named a replica this one has no connection to: cannot
            // happen (both come from the same list), but never guess.
            out.push_back(c == nullptr ? absl::StatusOr<v1::EvaluateResponse>(absl::InternalError(
                                             absl::StrCat("no connection to replica ", part.owner)))
                                       : c->Evaluate(chunk.request));
            if (!out.back().ok()) break;
          }
          return out;
        }));
  }
  VerdictMerge merge(response, response->verdicts_size());
  absl::Status first;
  for (size_t i = 0; i < parts.size(); ++i) {
    Answers answer = answers[i].get();
    absl::Status failed;
    for (size_t c = 0; c < parts[i].chunks.size(); ++c) {
      if (failed.ok() && c < answer.size() && answer[c].ok()) {
        failed = merge.Add(parts[i].chunks[c].indexes, std::move(*answer[c]));
      } else if (failed.ok()) {
        failed = answer.back().status();
      }
      if (failed.ok()) continue;
      const std::string why = absl::StrCat(
          "the replica that owns account", parts[i].accounts.size() > 1 ? "s " : " ",
          engine::Printable(absl::StrJoin(parts[i].accounts, ", ")), " (", parts[i].owner,
          ") did not evaluate them: ", absl::StatusCodeToString(failed.code()), ": ",
          failed.message());
      merge.Fail(parts[i].chunks[c].indexes, why);
      if (first.ok()) {
        first =
            absl::Status(failed.code(), absl::StrCat(why,
                                                     "; this request's other events were evaluated "
                                                     "(sent again, they are judged duplicates)"));
      }
    }
  }
  merge.Finish();
  return first;
}

}  // namespace trailsentry::service
