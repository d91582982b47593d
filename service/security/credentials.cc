// TLS credentials and their start-up checks; see credentials.h.
#include "service/security/credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace explainer::security {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

std::string Named(const char* flag, const std::string& file) {
  return absl::StrCat("--", flag, " ", file);
}

absl::StatusOr<std::string> ReadFile(const char* flag, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat(Named(flag, file), ": cannot read: ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::FailedPreconditionError(absl::StrCat(Named(flag, file), ": cannot read"));
  }
  return text.str();
}

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& text) {
  return std::unique_ptr<BIO, BioFree>(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Every certificate in a PEM file (at least one).
absl::StatusOr<std::vector<X509Ptr>> ReadCertificates(const char* flag,
                                                      const std::string& file) {
  absl::StatusOr<std::string> text = ReadFile(flag, file);
  if (!text.ok()) return text.status();
  auto bio = MemoryBio(*text);
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  ERR_clear_error();  // the read that ended the loop
  if (certs.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        Named(flag, file), ": no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)"));
  }
  return certs;
}

absl::Status CheckNotExpired(const char* flag, const std::string& file, X509* cert) {
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(Named(flag, file), ": the certificate has expired"));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(Named(flag, file), ": the certificate is not valid yet"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTlsFiles(const TlsOptions& options) {
  if (!options.enabled()) {
    if (options.mutual()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca needs --tls_cert and --tls_key: mutual TLS is TLS plus client "
          "certificates");
    }
    return absl::OkStatus();
  }
  if (options.cert_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key ", options.key_file, " needs --tls_cert (the certificate)"));
  }
  if (options.key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--tls_cert ", options.cert_file,
                                                   " needs --tls_key (its private key)"));
  }
  absl::StatusOr<std::vector<X509Ptr>> chain = ReadCertificates("tls_cert", options.cert_file);
  if (!chain.ok()) return chain.status();
  if (absl::Status s = CheckNotExpired("tls_cert", options.cert_file, (*chain)[0].get());
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> key_text = ReadFile("tls_key", options.key_file);
  if (!key_text.ok()) return key_text.status();
  auto bio = MemoryBio(*key_text);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(Named("tls_key", options.key_file),
                     ": no unencrypted PEM private key in it (expected -----BEGIN ... "
                     "PRIVATE KEY-----)"));
  }
  if (X509_check_private_key((*chain)[0].get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(
        absl::StrCat(Named("tls_key", options.key_file), " does not match the certificate in ",
                     Named("tls_cert", options.cert_file)));
  }
  if (options.mutual()) {
    absl::StatusOr<std::vector<X509Ptr>> cas =
        ReadCertificates("tls_client_ca", options.client_ca_file);
    if (!cas.ok()) return cas.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsOptions& options) {
  if (absl::Status checked = CheckTlsFiles(options); !checked.ok()) return checked;
  if (!options.enabled()) return grpc::InsecureServerCredentials();
  const int interval_s =
      std::max<int>(1, static_cast<int>(absl::ToInt64Seconds(options.reload_interval)));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.key_file, options.cert_file, options.client_ca_file, interval_s);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.mutual()) {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::experimental::TlsServerCredentials(tls);
  if (credentials == nullptr) {
    return absl::InternalError("gRPC could not make TLS server credentials");
  }
  return credentials;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeProbeCredentials(
    const TlsOptions& options) {
  if (!options.enabled()) return grpc::InsecureChannelCredentials();
  if (absl::Status checked = CheckTlsFiles(options); !checked.ok()) return checked;
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_verify_server_certs(false);
  tls.set_check_call_host(false);
  tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  if (options.mutual()) {
    absl::StatusOr<std::string> key = ReadFile("tls_key", options.key_file);
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> cert = ReadFile("tls_cert", options.cert_file);
    if (!cert.ok()) return cert.status();
    tls.set_certificate_provider(
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
            std::vector<grpc::experimental::IdentityKeyCertPair>{{*key, *cert}}));
    tls.watch_identity_key_cert_pairs();
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::experimental::TlsCredentials(tls);
  if (credentials == nullptr) return absl::InternalError("gRPC could not make TLS credentials");
  return credentials;
}

std::string DescribeTls(const TlsOptions& options) {
  if (!options.enabled()) return "TLS off";
  return options.mutual() ? "mTLS on" : "TLS on";
}

}  // namespace explainer::security
