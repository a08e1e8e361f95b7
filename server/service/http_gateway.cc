#include "server/service/http_gateway.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <initializer_list>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/engine/alert_ocsf.h"
#include "server/engine/alert_proto.h"
#include "server/engine/event_time.h"
#include "server/engine/printable.h"
#include "server/service/http_routes.h"
#include "server/service/lookups.h"
#include "server/service/proto_json.h"
#include "trailsentry/shard_key.h"

namespace trailsentry::service {
namespace {

int HttpCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

void ReplyError(httplib::Response& res, const absl::Status& status) {
  res.status = HttpCode(status.code());
  std::string message;  // a JSON string: UTF-8, on one line, quotes escaped
  for (char c : engine::Printable(std::string(status.message()))) {
    if (c == '"' || c == '\\') message.push_back('\\');
    message.push_back(c);
  }
  res.set_content(absl::StrCat("{\"code\":\"", absl::StatusCodeToString(status.code()),
                               "\",\"message\":\"", message, "\"}\n"),
                  "application/json");
}

void ReplyMessage(httplib::Response& res, const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  // Every field is in the reply (false, 0, empty lists): a caller can tell
  // "false" from "absent" (proto3 JSON leaves defaults out otherwise).
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  json.push_back('\n');
  res.status = 200;
  res.set_content(json, "application/json");
}

// INVALID_ARGUMENT naming the first query parameter not in `known` (or given
// twice): a misspelt filter is refused, never ignored into "everything".
absl::Status OnlyParams(const httplib::Request& req, std::initializer_list<const char*> known) {
  for (const auto& [name, value] : req.params) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string names;
      for (const char* k : known) absl::StrAppend(&names, names.empty() ? "" : ", ", k);
      return absl::InvalidArgumentError(absl::StrCat("query parameter \"", engine::Printable(name),
                                                     "\": not one of ",
                                                     names.empty() ? "(none)" : names));
    }
    if (req.get_param_value_count(name) > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter \"", engine::Printable(name), "\": given more than once"));
    }
  }
  return absl::OkStatus();
}

// identity=K, account_id=A or hostile=true, exactly one, into a request's scope.
template <typename Request>
absl::Status ScopeParams(const httplib::Request& req, Request& request) {
  const int given =
      req.has_param("identity") + req.has_param("account_id") + req.has_param("hostile");
  if (given != 1) {
    return absl::InvalidArgumentError(
        "give exactly one of the identity, account_id or hostile=true parameters");
  }
  if (req.has_param("identity")) {
    request.set_identity(req.get_param_value("identity"));
  } else if (req.has_param("account_id")) {
    request.set_account_id(req.get_param_value("account_id"));
  } else if (req.get_param_value("hostile") == "true") {
    request.set_hostile(true);
  } else {
    return absl::InvalidArgumentError("hostile: the only value is true");
  }
  return absl::OkStatus();
}

// "host:port" ("[v6]:port"); port 0 picks one.
absl::StatusOr<std::pair<std::string, int>> HostPort(const char* flag, const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": expected host:port, got \"", listen, "\""));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = 0;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": bad port in \"", listen, "\""));
  }
  return std::make_pair(host, port);
}

// Sharded: a client of the replica owning `account` when that is another one
// (calling with this request's credentials); null to answer here.
std::unique_ptr<Client> OwnerOf(const HttpGateway::Dependencies& d, std::string_view account,
                                const httplib::Request& req) {
  if (d.forwarder == nullptr || account.empty()) return nullptr;
  return d.forwarder->OwnerOf(account, req.get_header_value("Authorization"));
}

// The account a trusted-network call is about: the identity's, or the
// account's; "" for hostile networks (each replica holds its own).
template <typename Request>
std::string_view ScopeAccount(const Request& r) {
  if (r.hostile()) return "";
  if (!r.identity().empty()) return IdentityAccount(r.identity());
  return r.account_id();
}

// ?format=json (the default) or ?format=ocsf: true for OCSF.
absl::StatusOr<bool> OcsfFormat(const httplib::Request& req) {
  if (!req.has_param("format")) return false;
  const std::string format = req.get_param_value("format");
  if (format != "json" && format != "ocsf") {
    return absl::InvalidArgumentError("format: json or ocsf");
  }
  return format == "ocsf";
}

// The bound port, or -1.
int Bind(httplib::Server& server, const std::string& host, int port) {
  return port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::Start(const Options& options,
                                                                Dependencies deps) {
  std::unique_ptr<HttpGateway> gw(new HttpGateway());
  gw->deps_ = std::move(deps);
  if (!options.tls_cert.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(
        options.tls_cert.c_str(), options.tls_key.c_str(),
        options.tls_client_ca.empty() ? nullptr : options.tls_client_ca.c_str());
    if (!ssl->is_valid()) {
      return absl::InvalidArgumentError(
          "HTTP TLS: cannot load --tls_cert/--tls_key/--tls_client_ca");
    }
    gw->http_ = std::move(ssl);
  } else {
    gw->http_ = std::make_unique<httplib::Server>();
  }
  absl::StatusOr<std::pair<std::string, int>> endpoint = HostPort("--http_listen", options.listen);
  if (!endpoint.ok()) return endpoint.status();
  const auto& [host, port] = *endpoint;
  gw->http_->set_payload_max_length(static_cast<size_t>(gw->deps_.config->max_message_bytes));
  // Responses go out at once: with Nagle's algorithm a response written in two
  // parts waits for the client's delayed ACK (~40 ms a request on keep-alive).
  gw->http_->set_tcp_nodelay(true);
  const int threads = gw->deps_.config->http_threads;
  gw->http_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  // A request whose length is ambiguous is refused before any handler, and the
  // connection closed: a second length (or a length beside chunked encoding) is
  // how a request is smuggled past a proxy that reads it the other way.
  gw->http_->set_pre_routing_handler([g = gw.get()](const httplib::Request& req,
                                                    httplib::Response& res) {
    if (g->reaper_) g->reaper_->Busy(req.remote_addr, req.remote_port);
    const size_t lengths = req.get_header_value_count("Content-Length");
    const bool chunked = req.has_header("Transfer-Encoding");
    if (lengths <= 1 && !(lengths == 1 && chunked))
      return httplib::Server::HandlerResponse::Unhandled;
    ReplyError(res, absl::InvalidArgumentError(
                        lengths > 1 ? absl::StrCat("Content-Length: given ", lengths,
                                                   " times; send it once")
                                    : "Content-Length and Transfer-Encoding both given; send one"));
    // httplib keeps a connection open after a handled request; a provider that
    // reports failure after writing the body makes it close this one, so bytes
    // after the ambiguous body are never read as a request.
    std::string body = res.body;
    res.body.clear();
    res.headers.erase("Content-Type");
    res.set_header("Connection", "close");
    res.set_content_provider(body.size(), "application/json",
                             [body](size_t offset, size_t, httplib::DataSink& sink) {
                               sink.write(body.data() + offset, body.size() - offset);
                               return false;
                             });
    return httplib::Server::HandlerResponse::Handled;
  });
  gw->Routes();
  gw->port_ = Bind(*gw->http_, host, port);
  if (gw->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen (HTTP) on ", options.listen));
  }
  if (!options.health_listen.empty()) {
    absl::StatusOr<std::pair<std::string, int>> health =
        HostPort("--health_listen", options.health_listen);
    if (!health.ok()) return health.status();
    gw->health_ = std::make_unique<httplib::Server>();
    HealthRoutes(*gw->health_, gw->deps_);
    gw->health_port_ = Bind(*gw->health_, health->first, health->second);
    if (gw->health_port_ <= 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen (health) on ", options.health_listen));
    }
    gw->health_thread_ = std::thread([g = gw.get()] { g->health_->listen_after_bind(); });
    while (!gw->health_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Every error has a JSON body: httplib's own (unknown route, wrong method, body
  // over the limit) get one here; ours already have theirs.
  gw->http_->set_error_handler(httplib::Server::HandlerWithResponse(
      [max = gw->deps_.config->max_message_bytes](const httplib::Request& req,
                                                  httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        absl::Status status = absl::UnknownError(absl::StrCat("HTTP ", res.status));
        if (res.status == 404) {
          const std::string allow = AllowedMethods(req.path);
          if (!allow.empty()) {
            res.set_header("Allow", allow);
            ReplyError(res, absl::InvalidArgumentError(absl::StrCat(
                                req.method, " ", engine::Printable(req.path), ": use ", allow)));
            res.status = 405;
            return httplib::Server::HandlerResponse::Handled;
          }
          status = absl::NotFoundError(
              absl::StrCat("no route ", req.method, " ", engine::Printable(req.path)));
        } else if (res.status == 413) {
          status = absl::ResourceExhaustedError(
              absl::StrCat("body larger than max_message_bytes (", max, ")"));
        }
        const int code = res.status;
        ReplyError(res, status);
        res.status = code;
        return httplib::Server::HandlerResponse::Handled;
      }));
  // A response written ends the request: the connection's clock starts again.
  gw->http_->set_logger([g = gw.get()](const httplib::Request& req, const httplib::Response&) {
    if (g->reaper_) g->reaper_->Done(req.remote_addr, req.remote_port);
  });
  gw->reaper_ =
      std::make_unique<ConnectionReaper>(gw->port_, gw->deps_.config->http_request_timeout);
  gw->thread_ = std::thread([g = gw.get()] { g->http_->listen_after_bind(); });
  // httplib's stop() does nothing until its accept loop runs: a gateway stopped
  // right after it started would otherwise wait in accept() forever.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!gw->http_->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::UnavailableError(absl::StrCat("HTTP on ", options.listen, " did not start"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return gw;
}

HttpGateway::~HttpGateway() { Stop(); }

void HttpGateway::Stop() {
  reaper_.reset();
  if (health_) health_->stop();
  if (health_thread_.joinable()) health_thread_.join();
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpGateway::Routes() {
  Dependencies& d = deps_;
  // Authenticated JSON routes: resolve the tenant, time the call, map errors.
  auto route = [&d](const char* method, auto handler) {
    return [&d, method, handler](const httplib::Request& req, httplib::Response& res) {
      const auto start = std::chrono::steady_clock::now();
      absl::StatusOr<std::string> tenant = d.auth->TenantFor(req.get_header_value("Authorization"));
      absl::Status status = tenant.ok() ? handler(*tenant, req, res) : tenant.status();
      if (!status.ok()) ReplyError(res, status);
      // Evaluate records its own metrics (Evaluations), like every transport's.
      if (std::string_view(method) != "Evaluate") {
        d.metrics->RecordRequest(
            "http", method,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
            status.ok());
      }
    };
  };

  // POST routes read their body themselves, whatever its Content-Type: httplib
  // would parse a form-urlencoded body (curl -d's and urllib's default) as
  // parameters and refuse one past 8 KiB. The limit is max_message_bytes (413
  // with a JSON error naming it, from the error handler).
  auto with_body = [](auto handler) {
    return [handler](const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader) {
      if (req.is_multipart_form_data()) {
        ReplyError(res, absl::InvalidArgumentError(
                            "body: multipart form data; send the JSON itself as the body"));
        return;
      }
      std::string body;
      if (!reader([&](const char* data, size_t n) {
            body.append(data, n);
            return true;
          })) {
        return;
      }
      // The request is httplib's own (non-const) object, handed to handlers as const.
      const_cast<httplib::Request&>(req).body = std::move(body);
      handler(req, res);
    };
  };
  http_->Post("/v1/evaluate",
              with_body(route("Evaluate",
                              [&d](const std::string& tenant, const httplib::Request& req,
                                   httplib::Response& res) -> absl::Status {
                                v1::EvaluateRequest request;
                                if (absl::Status s = ParseProtoJson(req.body, &request); !s.ok())
                                  return s;
                                v1::EvaluateResponse response;
                                // Sharded: other replicas' events go on to them.
                                std::vector<ForwardedEvent> others;
                                if (absl::Status s = d.evaluations->Evaluate(
                                        "http", tenant, request, &response,
                                        d.forwarder != nullptr ? &others : nullptr);
                                    !s.ok()) {
                                  return s;
                                }
                                if (!others.empty()) {
                                  if (absl::Status s = d.forwarder->Forward(
                                          req.get_header_value("Authorization"), std::move(others),
                                          &response);
                                      !s.ok()) {
                                    return s;
                                  }
                                }
                                KeepRequestedVerdicts(request, &response);
                                ReplyMessage(res, response);
                                return absl::OkStatus();
                              })));
  http_->Get(R"(/v1/identities/(.+))",
             route("GetIdentity",
                   [&d](const std::string& tenant, const httplib::Request& req,
                        httplib::Response& res) -> absl::Status {
                     if (absl::Status s = OnlyParams(req, {}); !s.ok()) return s;
                     v1::GetIdentityRequest request;
                     request.set_identity(req.matches[1]);
                     std::unique_ptr<Client> owner =
                         OwnerOf(d, IdentityAccount(request.identity()), req);
                     absl::StatusOr<v1::IdentityProfile> r =
                         owner != nullptr ? owner->GetIdentity(request.identity())
                                          : GetIdentity(*d.engine, d.db, tenant, request);
                     if (!r.ok()) return r.status();
                     ReplyMessage(res, *r);
                     return absl::OkStatus();
                   }));
  http_->Delete(R"(/v1/identities/(.+))",
                route("ForgetIdentity",
                      [&d](const std::string& tenant, const httplib::Request& req,
                           httplib::Response& res) -> absl::Status {
                        if (absl::Status s = OnlyParams(req, {}); !s.ok()) return s;
                        v1::ForgetIdentityRequest request;
                        request.set_identity(req.matches[1]);
                        if (std::unique_ptr<Client> owner =
                                OwnerOf(d, IdentityAccount(request.identity()), req)) {
                          if (absl::Status s = owner->ForgetIdentity(request.identity()); !s.ok()) {
                            return s;
                          }
                          ReplyMessage(res, v1::ForgetIdentityResponse());
                          return absl::OkStatus();
                        }
                        absl::StatusOr<v1::ForgetIdentityResponse> r =
                            ForgetIdentity(*d.engine, d.db, tenant, request);
                        if (!r.ok()) return r.status();
                        spdlog::info("tenant {}: forgot identity {} (HTTP)",
                                     engine::Printable(tenant),
                                     engine::Printable(request.identity()));
                        ReplyMessage(res, *r);
                        return absl::OkStatus();
                      }));
  http_->Get(
      "/v1/alerts",
      route("ListAlerts",
            [&d](const std::string& tenant, const httplib::Request& req,
                 httplib::Response& res) -> absl::Status {
              v1::ListAlertsRequest request;
              if (absl::Status s =
                      OnlyParams(req, {"since", "until", "rule_id", "identity", "page_size",
                                       "page_token", "status", "updated_since", "format"});
                  !s.ok()) {
                return s;
              }
              if (req.has_param("updated_since") &&
                  !engine::ParseTimestamp(req.get_param_value("updated_since"),
                                          request.mutable_updated_since())) {
                return absl::InvalidArgumentError("updated_since: not an RFC 3339 time");
              }
              if (req.has_param("status")) {
                v1::Alert::Status status;
                if (!v1::Alert::Status_Parse(req.get_param_value("status"), &status)) {
                  return absl::InvalidArgumentError("status: not OPEN, ACKNOWLEDGED or RESOLVED");
                }
                request.set_status(status);
              }
              if (req.has_param("since") &&
                  !engine::ParseTimestamp(req.get_param_value("since"), request.mutable_since())) {
                return absl::InvalidArgumentError("since: not an RFC 3339 time");
              }
              if (req.has_param("until") &&
                  !engine::ParseTimestamp(req.get_param_value("until"), request.mutable_until())) {
                return absl::InvalidArgumentError("until: not an RFC 3339 time");
              }
              request.set_rule_id(req.get_param_value("rule_id"));
              request.set_identity(req.get_param_value("identity"));
              request.set_page_token(req.get_param_value("page_token"));
              if (req.has_param("page_size")) {
                int n = 0;
                if (!absl::SimpleAtoi(req.get_param_value("page_size"), &n)) {
                  return absl::InvalidArgumentError("page_size: not a number");
                }
                request.set_page_size(n);
              }
              absl::StatusOr<bool> ocsf = OcsfFormat(req);
              if (!ocsf.ok()) return ocsf.status();
              // Sharded: every replica's alerts, as one list.
              absl::StatusOr<v1::ListAlertsResponse> r =
                  d.forwarder != nullptr
                      ? d.forwarder->ListAlerts(req.get_header_value("Authorization"), request)
                      : ListAlerts(d.db, tenant, request);
              if (!r.ok()) return r.status();
              if (!*ocsf) {
                ReplyMessage(res, *r);
                return absl::OkStatus();
              }
              google::protobuf::Struct out;
              google::protobuf::ListValue* findings =
                  (*out.mutable_fields())["findings"].mutable_list_value();
              for (const v1::Alert& a : r->alerts()) {
                *findings->add_values()->mutable_struct_value() = engine::ToOcsf(a);
              }
              (*out.mutable_fields())["next_page_token"].set_string_value(r->next_page_token());
              ReplyMessage(res, out);
              return absl::OkStatus();
            }));
  http_->Get(R"(/v1/alerts/([^/]+))",
             route("GetAlert",
                   [&d](const std::string& tenant, const httplib::Request& req,
                        httplib::Response& res) -> absl::Status {
                     if (absl::Status s = OnlyParams(req, {"format"}); !s.ok()) return s;
                     absl::StatusOr<bool> ocsf = OcsfFormat(req);
                     if (!ocsf.ok()) return ocsf.status();
                     v1::GetAlertRequest request;
                     request.set_alert_id(req.matches[1]);
                     absl::StatusOr<v1::Alert> r = GetAlert(d.db, tenant, request);
                     // Sharded: the alert may be another replica's.
                     if (d.forwarder != nullptr && absl::IsNotFound(r.status())) {
                       r = d.forwarder->OnOthers(
                           req.get_header_value("Authorization"),
                           [&](Client& c) { return c.GetAlert(request.alert_id()); }, r.status());
                     }
                     if (!r.ok()) return r.status();
                     if (*ocsf) {
                       ReplyMessage(res, engine::ToOcsf(*r));
                     } else {
                       ReplyMessage(res, *r);
                     }
                     return absl::OkStatus();
                   }));
  http_->Patch(
      R"(/v1/alerts/([^/]+))",
      with_body(route(
          "UpdateAlert",
          [&d](const std::string& tenant, const httplib::Request& req,
               httplib::Response& res) -> absl::Status {
            v1::UpdateAlertRequest request;
            if (absl::Status s = ParseProtoJson(req.body, &request); !s.ok()) return s;
            if (!request.alert_id().empty() && request.alert_id() != req.matches[1]) {
              return absl::InvalidArgumentError("alert_id: differs from the alert in the path");
            }
            request.set_alert_id(req.matches[1]);
            absl::StatusOr<v1::Alert> r = UpdateAlert(*d.engine, d.db, tenant, request);
            // Sharded: the alert may be another replica's.
            if (d.forwarder != nullptr && absl::IsNotFound(r.status())) {
              r = d.forwarder->OnOthers(
                  req.get_header_value("Authorization"),
                  [&](Client& c) { return c.UpdateAlert(request); }, r.status());
            }
            if (!r.ok()) return r.status();
            spdlog::info("tenant {}: alert {} triaged (HTTP)", engine::Printable(tenant),
                         engine::Printable(request.alert_id()));
            ReplyMessage(res, *r);
            return absl::OkStatus();
          })));
  http_->Post(
      "/v1/known-networks",
      with_body(route("AddKnownNetwork",
                      [&d](const std::string& tenant, const httplib::Request& req,
                           httplib::Response& res) -> absl::Status {
                        v1::AddKnownNetworkRequest request;
                        if (absl::Status s = ParseProtoJson(req.body, &request); !s.ok()) return s;
                        std::unique_ptr<Client> owner = OwnerOf(d, ScopeAccount(request), req);
                        absl::StatusOr<v1::AddKnownNetworkResponse> r =
                            owner != nullptr ? owner->AddKnownNetwork(request)
                                             : AddKnownNetwork(*d.engine, d.db, tenant, request);
                        if (!r.ok()) return r.status();
                        spdlog::info(
                            "tenant {}: trusted network {} for {} (HTTP)",
                            engine::Printable(tenant), engine::Printable(r->network()),
                            engine::Printable(request.identity().empty() ? request.account_id()
                                                                         : request.identity()));
                        ReplyMessage(res, *r);
                        return absl::OkStatus();
                      })));
  // GET ?identity=K | ?account_id=A lists; DELETE with cidr=C removes one.
  http_->Get(
      "/v1/known-networks",
      route(
          "ListKnownNetworks",
          [&d](const std::string& tenant, const httplib::Request& req,
               httplib::Response& res) -> absl::Status {
            if (absl::Status s = OnlyParams(req, {"identity", "account_id", "hostile"}); !s.ok()) {
              return s;
            }
            v1::ListKnownNetworksRequest request;
            if (absl::Status s = ScopeParams(req, request); !s.ok()) return s;
            std::unique_ptr<Client> owner = OwnerOf(d, ScopeAccount(request), req);
            absl::StatusOr<v1::ListKnownNetworksResponse> r =
                owner != nullptr ? owner->ListKnownNetworks(request)
                                 : ListKnownNetworks(*d.engine, tenant, request);
            if (!r.ok()) return r.status();
            ReplyMessage(res, *r);
            return absl::OkStatus();
          }));
  http_->Delete(
      "/v1/known-networks",
      route("RemoveKnownNetwork",
            [&d](const std::string& tenant, const httplib::Request& req,
                 httplib::Response& res) -> absl::Status {
              if (absl::Status s = OnlyParams(req, {"identity", "account_id", "hostile", "cidr"});
                  !s.ok()) {
                return s;
              }
              v1::RemoveKnownNetworkRequest request;
              if (absl::Status s = ScopeParams(req, request); !s.ok()) return s;
              request.set_cidr(req.get_param_value("cidr"));
              std::unique_ptr<Client> owner = OwnerOf(d, ScopeAccount(request), req);
              absl::StatusOr<v1::RemoveKnownNetworkResponse> r =
                  owner != nullptr ? owner->RemoveKnownNetwork(request)
                                   : RemoveKnownNetwork(*d.engine, d.db, tenant, request);
              if (!r.ok()) return r.status();
              spdlog::info("tenant {}: no longer trusts network {} for {} (HTTP)",
                           engine::Printable(tenant), engine::Printable(r->network()),
                           engine::Printable(request.identity().empty() ? request.account_id()
                                                                        : request.identity()));
              ReplyMessage(res, *r);
              return absl::OkStatus();
            }));
  HealthRoutes(*http_, d);
  http_->Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    static const std::string kDocument = OpenApiDocument();
    res.set_content(kDocument, "application/json");
  });
  http_->Get("/metrics", [&d](const httplib::Request&, httplib::Response& res) {
    std::vector<std::pair<std::string, double>> gauges;
    if (d.db != nullptr) gauges = d.db->Gauges();
    const engine::EngineStats stats = d.engine->Stats();
    gauges.emplace_back("trailsentry_identities_cached", static_cast<double>(stats.identities));
    gauges.emplace_back("trailsentry_burst_events_retained",
                        static_cast<double>(stats.retained_events));
    gauges.emplace_back("trailsentry_account_baselines_cached",
                        static_cast<double>(stats.account_entries_cached));
    if (d.gauges) {
      for (auto& g : d.gauges()) gauges.push_back(std::move(g));
    }
    res.set_content(d.metrics->Render(gauges), "text/plain; version=0.0.4");
  });
}

void HttpGateway::HealthRoutes(httplib::Server& server, const Dependencies& deps) {
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Get("/readyz", [&deps](const httplib::Request&, httplib::Response& res) {
    const absl::Status ready = deps.ready ? deps.ready() : absl::OkStatus();
    res.status = ready.ok() ? 200 : 503;
    res.set_content(
        ready.ok()
            ? std::string("ready\n")
            : absl::StrCat("not ready: ", engine::Printable(std::string(ready.message())), "\n"),
        "text/plain");
  });
}

}  // namespace trailsentry::service
