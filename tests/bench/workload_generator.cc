#include "tests/bench/workload_generator.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/engine/event_time.h"

namespace trailsentry::bench {
namespace {

struct Api {
  const char* source;
  const char* name;
};

// Weighted towards read-only calls, as real management-event trails are.
constexpr Api kApis[] = {
    {"ec2.amazonaws.com", "DescribeInstances"},
    {"ec2.amazonaws.com", "DescribeVolumes"},
    {"ec2.amazonaws.com", "DescribeSecurityGroups"},
    {"ec2.amazonaws.com", "DescribeSubnets"},
    {"ec2.amazonaws.com", "RunInstances"},
    {"ec2.amazonaws.com", "CreateTags"},
    {"s3.amazonaws.com", "GetBucketAcl"},
    {"s3.amazonaws.com", "ListBuckets"},
    {"s3.amazonaws.com", "GetBucketPolicy"},
    {"s3.amazonaws.com", "PutBucketTagging"},
    {"iam.amazonaws.com", "GetRole"},
    {"iam.amazonaws.com", "ListRoles"},
    {"iam.amazonaws.com", "ListAttachedRolePolicies"},
    {"iam.amazonaws.com", "CreateAccessKey"},
    {"sts.amazonaws.com", "AssumeRole"},
    {"sts.amazonaws.com", "GetCallerIdentity"},
    {"kms.amazonaws.com", "Decrypt"},
    {"kms.amazonaws.com", "GenerateDataKey"},
    {"kms.amazonaws.com", "DescribeKey"},
    {"lambda.amazonaws.com", "ListFunctions20150331"},
    {"lambda.amazonaws.com", "GetFunction20150331v2"},
    {"rds.amazonaws.com", "DescribeDBInstances"},
    {"dynamodb.amazonaws.com", "DescribeTable"},
    {"dynamodb.amazonaws.com", "ListTables"},
    {"cloudtrail.amazonaws.com", "LookupEvents"},
    {"cloudtrail.amazonaws.com", "DescribeTrails"},
    {"logs.amazonaws.com", "CreateLogStream"},
    {"logs.amazonaws.com", "DescribeLogGroups"},
    {"ssm.amazonaws.com", "GetParameter"},
    {"ssm.amazonaws.com", "UpdateInstanceInformation"},
    {"secretsmanager.amazonaws.com", "GetSecretValue"},
    {"monitoring.amazonaws.com", "GetMetricData"},
    {"elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers"},
    {"organizations.amazonaws.com", "DescribeOrganization"},
    {"ecr.amazonaws.com", "GetAuthorizationToken"},
    {"config.amazonaws.com", "PutEvaluations"},
};

constexpr const char* kReconCalls[][2] = {
    {"sts.amazonaws.com", "GetCallerIdentity"},
    {"iam.amazonaws.com", "ListUsers"},
    {"iam.amazonaws.com", "ListRoles"},
    {"s3.amazonaws.com", "ListBuckets"},
    {"ec2.amazonaws.com", "DescribeInstances"},
    {"iam.amazonaws.com", "GetAccountAuthorizationDetails"},
    {"ec2.amazonaws.com", "DescribeSecurityGroups"},
    {"kms.amazonaws.com", "ListKeys"},
    {"lambda.amazonaws.com", "ListFunctions20150331"},
    {"rds.amazonaws.com", "DescribeDBInstances"},
};

constexpr const char* kRegions[] = {"us-east-1", "us-east-1",    "us-east-1",     "us-west-2",
                                    "eu-west-1", "eu-central-1", "ap-southeast-2"};

std::string Uuid(std::mt19937_64& rng) {
  const uint64_t a = rng(), b = rng();
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

std::string Key(std::mt19937_64& rng, const char* prefix) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string k = prefix;
  for (int i = 0; i < 16; ++i) k.push_back(kAlphabet[rng() % 32]);
  return k;
}

}  // namespace

WorkloadGenerator::WorkloadGenerator(Options options) : options_(options), rng_(options.seed) {
  MakeIdentities();
  // Identities depend on the seed only; events also on the start time, so two
  // stretches of one organisation's trail share identities but not eventIDs.
  rng_.seed(options_.seed * 1000003 + static_cast<uint64_t>(options_.start_epoch_seconds));
}

void WorkloadGenerator::MakeIdentities() {
  std::vector<std::string> accounts;
  for (int i = 0; i < options_.accounts; ++i) {
    accounts.push_back(
        absl::StrFormat("%012d", 100000000000LL + static_cast<int64_t>(rng_() % 899999999999LL)));
  }
  for (int i = 0; i < options_.identities; ++i) {
    Identity id;
    id.account = accounts[rng_() % accounts.size()];
    const int kind = static_cast<int>(rng_() % 10);
    if (kind < 3) {  // IAM user
      id.type = "IAMUser";
      id.user_name = absl::StrCat("user-", i);
      id.arn = absl::StrCat("arn:aws:iam::", id.account, ":user/", id.user_name);
      id.principal = Key(rng_, "AIDA");
      id.access_key = Key(rng_, "AKIA");
    } else if (kind < 9) {  // assumed-role session
      id.type = "AssumedRole";
      id.issuer_name = absl::StrCat("role-", i % 700);
      const std::string session =
          kind < 6 ? absl::StrCat("i-0", rng_() % 100000000) : absl::StrCat("session-", i);
      id.arn =
          absl::StrCat("arn:aws:sts::", id.account, ":assumed-role/", id.issuer_name, "/", session);
      id.issuer_arn = absl::StrCat("arn:aws:iam::", id.account, ":role/", id.issuer_name);
      id.principal = absl::StrCat(Key(rng_, "AROA"), ":", session);
      id.access_key = Key(rng_, "ASIA");
    } else {  // AWS service
      id.type = "AWSService";
    }
    const int nips = 1 + static_cast<int>(rng_() % 3);
    for (int k = 0; k < nips; ++k) {
      if (rng_() % 5 == 0) {
        id.ips.push_back(absl::StrFormat("2600:1f18:%x:%x::%x", rng_() % 0xffff, rng_() % 0xffff,
                                         rng_() % 0xffff));
      } else {
        id.ips.push_back(absl::StrFormat("%d.%d.%d.%d", 3 + rng_() % 200, rng_() % 256,
                                         rng_() % 256, 1 + rng_() % 254));
      }
    }
    id.agent_kind = static_cast<int>(rng_() % 100);
    identities_.push_back(std::move(id));
  }
}

std::string WorkloadGenerator::Agent(int kind, const std::string& source, const std::string& name) {
  if (kind < 20) {
    return absl::StrCat(
        "aws-cli/2.", 13 + kind % 5, ".", kind % 30,
        " Python/3.11.6 Linux/6.1.0-18-amd64 exe/x86_64.debian.12 prompt/off command/",
        source.substr(0, source.find('.')), ".", name);
  }
  if (kind < 55) {
    return absl::StrCat(
        "Boto3/1.34.", kind, " md/Botocore#1.34.", kind,
        " ua/2.0 os/linux#5.10.210-201.852.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.8 "
        "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.",
        kind);
  }
  if (kind < 70) return absl::StrCat("console.", source);
  if (kind < 80) {
    return "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) "
           "terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) "
           "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 "
           "api/ec2#1.149.3";
  }
  if (kind < 92)
    return "aws-sdk-java/2.25.6 Linux/5.10.210 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10";
  return "AWS Internal";
}

void WorkloadGenerator::Emit(const Identity& id, int64_t millis, const std::string& source,
                             const std::string& name, const std::string& agent,
                             const std::string& ip, bool failed, std::string& out) {
  const std::string time = engine::FormatRfc3339(millis / 1000 * 1000);
  const char* region = kRegions[rng_() % std::size(kRegions)];
  std::string identity;
  if (id.type == "AWSService") {
    identity = absl::StrCat("{\"type\":\"AWSService\",\"invokedBy\":\"", source, "\"}");
  } else if (id.type == "IAMUser") {
    identity =
        absl::StrCat("{\"type\":\"IAMUser\",\"principalId\":\"", id.principal, "\",\"arn\":\"",
                     id.arn, "\",\"accountId\":\"", id.account, "\",\"accessKeyId\":\"",
                     id.access_key, "\",\"userName\":\"", id.user_name, "\"}");
  } else {
    identity = absl::StrCat(
        "{\"type\":\"AssumedRole\",\"principalId\":\"", id.principal, "\",\"arn\":\"", id.arn,
        "\",\"accountId\":\"", id.account, "\",\"accessKeyId\":\"", id.access_key,
        "\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"principalId\":\"",
        id.principal.substr(0, id.principal.find(':')), "\",\"arn\":\"", id.issuer_arn,
        "\",\"accountId\":\"", id.account, "\",\"userName\":\"", id.issuer_name,
        "\"},\"webIdFederationData\":{},\"attributes\":{\"creationDate\":\"", time,
        "\",\"mfaAuthenticated\":\"false\"}}}");
  }
  const bool service = id.type == "AWSService";
  out.clear();
  absl::StrAppend(&out, "{\"eventVersion\":\"1.09\",\"userIdentity\":", identity,
                  ",\"eventTime\":\"", time, "\",\"eventSource\":\"", source, "\",\"eventName\":\"",
                  name, "\",\"awsRegion\":\"", region, "\",\"sourceIPAddress\":\"",
                  service ? source : ip, "\",\"userAgent\":\"", service ? source : agent, "\"");
  if (failed) {
    absl::StrAppend(&out, ",\"errorCode\":\"AccessDenied\",\"errorMessage\":\"User: ", id.arn,
                    " is not authorized to perform: ", source.substr(0, source.find('.')), ":",
                    name, " because no identity-based policy allows the action\"");
  }
  absl::StrAppend(
      &out, ",\"requestParameters\":{\"maxResults\":", 50 + rng_() % 950,
      ",\"filterSet\":{\"items\":[{\"name\":\"tag:team\",\"valueSet\":{\"items\":[{\"value\":\"",
      "platform-", rng_() % 40, "\"}]}}]}}", ",\"responseElements\":null,\"requestID\":\"",
      Uuid(rng_), "\",\"eventID\":\"", Uuid(rng_), "\",\"readOnly\":",
      name.rfind("Describe", 0) == 0 || name.rfind("Get", 0) == 0 || name.rfind("List", 0) == 0
          ? "true"
          : "false",
      ",\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":\"",
      service ? "123456789012" : id.account,
      "\",\"eventCategory\":\"Management\",\"tlsDetails\":{\"tlsVersion\":\"TLSv1.3\","
      "\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"clientProvidedHostHeader\":\"",
      source.substr(0, source.find('.')), ".", region, ".amazonaws.com\"}}");
}

bool WorkloadGenerator::Next(std::string& out) {
  if (emitted_ >= options_.events) return false;
  const int64_t base_ms =
      options_.start_epoch_seconds * 1000 +
      static_cast<int64_t>(static_cast<double>(emitted_) * 1000.0 / options_.events_per_second);
  ++emitted_;
  if (burst_left_ == 0 &&
      std::uniform_real_distribution<double>(0, 1)(rng_) < options_.burst_probability) {
    // Someone's keys leaked: a CLI recon burst by a user or role session.
    do {
      burst_identity_ = static_cast<int>(rng_() % identities_.size());
    } while (identities_[burst_identity_].type == "AWSService");
    burst_left_ = 6 + static_cast<int>(rng_() % 4);
    burst_start_ms_ = base_ms;
    burst_ip_ = "185.220.101." + std::to_string(rng_() % 250);
    ++bursts_started_;
  }
  if (burst_left_ > 0) {
    const Identity& id = identities_[burst_identity_];
    const auto& call = kReconCalls[(10 - burst_left_) % std::size(kReconCalls)];
    --burst_left_;
    // A script: one call a second from one address, whatever the overall rate.
    Emit(id, burst_start_ms_ + (9 - burst_left_) * 1000, call[0], call[1],
         absl::StrCat(
             "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/",
             call[1]),
         burst_ip_, false, out);
    return true;
  }
  // Delivery jitter: a few seconds out of order.
  const int64_t jitter = static_cast<int64_t>(rng_() % 5000);
  const Identity& id = identities_[rng_() % identities_.size()];
  const Api& api = kApis[rng_() % std::size(kApis)];
  Emit(id, base_ms > jitter ? base_ms - jitter : base_ms, api.source, api.name,
       Agent(id.agent_kind, api.source, api.name), id.ips[rng_() % id.ips.size()], rng_() % 50 == 0,
       out);
  return true;
}

}  // namespace trailsentry::bench
