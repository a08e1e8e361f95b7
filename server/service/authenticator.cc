#include "server/service/authenticator.h"

#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/engine/absl_view.h"

namespace trailsentry::service {
namespace {

constexpr size_t kMinTokenBytes = 16;

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

}  // namespace

absl::StatusOr<Authenticator::Tokens> Authenticator::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open token file"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseTokens(text.str(), path);
}

absl::StatusOr<Authenticator::Tokens> Authenticator::ParseTokens(std::string_view text,
                                                                 std::string_view origin) {
  const absl::string_view path = AbslView(origin);
  Tokens tokens;
  int n = 0;
  for (absl::string_view line : absl::StrSplit(AbslView(text), '\n')) {
    ++n;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", n, ": expected \"<token> <tenant>\""));
    }
    if (parts[0].size() < kMinTokenBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", n, ": token shorter than ", kMinTokenBytes, " characters"));
    }
    if (!engine::IsValidTenant(std::string_view(parts[1].data(), parts[1].size()))) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " line ", n, ": tenant must be 1-64 characters of letters, digits, '.', '_', '-'"));
    }
    if (!tokens
             .emplace(Sha256(std::string_view(parts[0].data(), parts[0].size())),
                      std::string(parts[1]))
             .second) {
      return absl::InvalidArgumentError(absl::StrCat(path, " line ", n, ": duplicate token"));
    }
  }
  if (tokens.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no tokens"));
  return tokens;
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(
    const std::string& token_file) {
  std::unique_ptr<Authenticator> auth(new Authenticator(token_file));
  if (!token_file.empty()) {
    if (absl::Status s = auth->Reload(); !s.ok()) return s;
  }
  return auth;
}

absl::Status Authenticator::Reload() {
  if (path_.empty()) return absl::OkStatus();
  absl::StatusOr<Tokens> tokens = Load(path_);
  if (!tokens.ok()) return tokens.status();
  auto fresh = std::make_shared<const Tokens>(*std::move(tokens));
  engine::MutexLock lock(&mu_);
  tokens_ = std::move(fresh);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Authenticator::TenantFor(std::string_view authorization) const {
  if (path_.empty()) return std::string(kDefaultTenant);
  // The scheme is case-insensitive (RFC 9110 §11.1); one or more spaces follow it.
  constexpr std::string_view kBearer = "bearer";
  if (authorization.size() <= kBearer.size() ||
      !absl::EqualsIgnoreCase(AbslView(authorization.substr(0, kBearer.size())),
                              AbslView(kBearer)) ||
      authorization[kBearer.size()] != ' ') {
    return absl::UnauthenticatedError("missing \"authorization: Bearer <token>\"");
  }
  std::string_view token = authorization.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  std::shared_ptr<const Tokens> tokens;
  {
    engine::MutexLock lock(&mu_);
    tokens = tokens_;
  }
  auto it = tokens->find(Sha256(token));
  if (it == tokens->end()) return absl::UnauthenticatedError("unknown token");
  return it->second;
}

size_t Authenticator::token_count() const {
  engine::MutexLock lock(&mu_);
  return tokens_ ? tokens_->size() : 0;
}

}  // namespace trailsentry::service
