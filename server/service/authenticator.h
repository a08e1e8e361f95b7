// Authenticator: bearer tokens -> tenants, from a file an operator maintains.
//
// The token file holds one "<token> <tenant>" per line ('#' starts a comment);
// tokens are kept only as SHA-256 digests and never logged. Reload() re-reads
// the file (on SIGHUP) and keeps the previous set if the new one is invalid.
// Without a token file authentication is off and every caller is tenant
// "default".
//
//   auto auth = Authenticator::Create("/etc/trailsentry/tokens").value();
//   absl::StatusOr<std::string> tenant = auth->TenantFor("Bearer s3cr3t...");
#ifndef TRAILSENTRY_SERVER_SERVICE_AUTHENTICATOR_H_
#define TRAILSENTRY_SERVER_SERVICE_AUTHENTICATOR_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/engine/mutex.h"
#include "server/engine/tenant.h"

namespace trailsentry::service {

inline constexpr char kDefaultTenant[] = "default";

class Authenticator {
 public:
  // `token_file` empty: authentication off.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Authenticator>> Create(
      const std::string& token_file);
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  bool enabled() const { return !path_.empty(); }
  // Re-reads the token file; on error the tokens in force stay and the error says
  // which line is wrong.
  [[nodiscard]] absl::Status Reload();
  // The tenant of an "authorization" header value ("Bearer <token>").
  // UNAUTHENTICATED when it is missing, malformed or unknown.
  [[nodiscard]] absl::StatusOr<std::string> TenantFor(std::string_view authorization) const;
  size_t token_count() const;

  using Tokens = absl::flat_hash_map<std::string, std::string>;  // sha256(token) -> tenant
  // The tokens of a token file's text; errors name `origin` and the line.
  [[nodiscard]] static absl::StatusOr<Tokens> ParseTokens(std::string_view text,
                                                          std::string_view origin);

 private:
  explicit Authenticator(std::string path) : path_(std::move(path)) {}
  static absl::StatusOr<Tokens> Load(const std::string& path);

  const std::string path_;
  mutable engine::Mutex mu_;
  std::shared_ptr<const Tokens> tokens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_AUTHENTICATOR_H_
