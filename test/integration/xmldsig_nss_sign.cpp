// xmldsig_nss_sign: signs an XML signature template with a key on a PKCS#11 token through
// xmlsec's NSS backend (libxmlsec1-nss), as an application built on it would. Debian's xmlsec1
// command is built with OpenSSL only (no --crypto nss), so this small client stands in for it.
//
// usage: xmldsig_nss_sign NSSDB NICKNAME TEMPLATE OUT
//   NSSDB     an NSS database (sql:DIR) with the module added (modutil -add)
//   NICKNAME  the certificate's NSS nickname, "TOKEN:LABEL"
//   TEMPLATE  an XML document holding a <ds:Signature> template; OUT: the signed document
// NSS asks for the password once to log in to the token and once more for the key's own
// signature (CKA_ALWAYS_AUTHENTICATE). Each time it is read from the terminal without echo, or,
// in tests, taken from the environment variable JPKI_XMLSIGN_PIN. A refused password is never
// given again (NSS's `retry`): the program gives up, as a user who cancels the dialog. Each
// request goes to stderr as "password asked: TOKEN (retry: no)".
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/nss/app.h>
#include <xmlsec/nss/crypto.h>
#include <xmlsec/nss/pkikeys.h>
#include <xmlsec/nss/x509.h>

#include <cert.h>
#include <keyhi.h>
#include <pk11pub.h>
#include <secerr.h>

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace {

int asked = 0;

// One line from the terminal, echo off; nullptr without a terminal. The buffer is wiped.
char* readFromTerminal(const char* token) {
  const int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0) return nullptr;
  termios saved{};
  const bool isTerminal = tcgetattr(tty, &saved) == 0;
  if (isTerminal) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(tty, TCSAFLUSH, &quiet);
  }
  const std::string prompt = std::string("Password for ") + token + ": ";
  (void)!write(tty, prompt.data(), prompt.size());
  char line[64];
  std::size_t n = 0;
  char c = 0;
  while (n + 1 < sizeof line && read(tty, &c, 1) == 1 && c != '\n') line[n++] = c;
  line[n] = '\0';
  if (isTerminal) tcsetattr(tty, TCSAFLUSH, &saved);
  (void)!write(tty, "\n", 1);
  close(tty);
  char* copy = n > 0 ? PORT_Strdup(line) : nullptr;
  volatile char* wipe = line;
  for (std::size_t i = 0; i < sizeof line; ++i) wipe[i] = 0;
  return copy;
}

char* askPassword(PK11SlotInfo* slot, PRBool retry, void*) {
  std::fprintf(stderr, "password asked: %s (retry: %s)\n", PK11_GetTokenName(slot), retry ? "yes" : "no");
  if (retry) return nullptr;  // refused once: give up, never try the same password again
  const char* fromEnv = std::getenv("JPKI_XMLSIGN_PIN");
  char* pin = fromEnv != nullptr ? PORT_Strdup(fromEnv) : readFromTerminal(PK11_GetTokenName(slot));
  if (pin != nullptr) ++asked;
  return pin;
}

int failWith(const char* what) {
  std::fprintf(stderr, "xmldsig_nss_sign: %s (NSS error %d)\n", what, PORT_GetError());
  return 1;
}

struct CertDeleter { void operator()(CERTCertificate* c) const { CERT_DestroyCertificate(c); } };
struct DocDeleter { void operator()(xmlDoc* d) const { xmlFreeDoc(d); } };
struct DsigDeleter { void operator()(xmlSecDSigCtx* c) const { xmlSecDSigCtxDestroy(c); } };

int sign(const char* nickname, const char* templateFile, const char* outFile) {
  // The signature certificate is a private object: finding it logs in (the first password).
  std::unique_ptr<CERTCertificate, CertDeleter> cert(PK11_FindCertFromNickname(nickname, nullptr));
  if (!cert) return failWith("no certificate with that nickname");
  SECKEYPrivateKey* priv = PK11_FindKeyByAnyCert(cert.get(), nullptr);
  if (priv == nullptr) return failWith("no private key for the certificate");
  SECKEYPublicKey* pub = CERT_ExtractPublicKey(cert.get());
  if (pub == nullptr) {
    SECKEY_DestroyPrivateKey(priv);
    return failWith("no public key in the certificate");
  }
  xmlSecKeyDataPtr value = xmlSecNssPKIAdoptKey(priv, pub);  // owns priv and pub from here
  if (value == nullptr) return failWith("xmlSecNssPKIAdoptKey failed");

  std::unique_ptr<xmlSecDSigCtx, DsigDeleter> dsig(xmlSecDSigCtxCreate(nullptr));
  if (!dsig) {
    xmlSecKeyDataDestroy(value);
    return failWith("xmlSecDSigCtxCreate failed");
  }
  dsig->signKey = xmlSecKeyCreate();  // owned by the context from here
  if (dsig->signKey == nullptr || xmlSecKeySetValue(dsig->signKey, value) < 0) {
    xmlSecKeyDataDestroy(value);
    return failWith("xmlSecKeySetValue failed");
  }
  // The certificate goes into <ds:X509Data>, the nickname into <ds:KeyName>.
  xmlSecKeyDataPtr x509 = xmlSecKeyEnsureData(dsig->signKey, xmlSecNssKeyDataX509Id);
  if (x509 == nullptr || xmlSecNssKeyDataX509AdoptKeyCert(x509, CERT_DupCertificate(cert.get())) < 0 ||
      xmlSecNssKeyDataX509AdoptCert(x509, CERT_DupCertificate(cert.get())) < 0 ||
      xmlSecKeySetName(dsig->signKey, reinterpret_cast<const xmlChar*>(nickname)) < 0)
    return failWith("attaching the certificate to the key failed");

  std::unique_ptr<xmlDoc, DocDeleter> doc(xmlParseFile(templateFile));
  if (!doc) return failWith("the template is not XML");
  xmlNodePtr node = xmlSecFindNode(xmlDocGetRootElement(doc.get()), xmlSecNodeSignature, xmlSecDSigNs);
  if (node == nullptr) return failWith("the template has no ds:Signature");
  // Signing asks for the key's own password (C_Login CKU_CONTEXT_SPECIFIC): the second one.
  if (xmlSecDSigCtxSign(dsig.get(), node) < 0) return failWith("xmlSecDSigCtxSign failed");
  if (xmlSaveFile(outFile, doc.get()) < 0) return failWith("writing the signed document failed");
  std::fprintf(stderr, "signed: %s (passwords given: %d)\n", outFile, asked);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: xmldsig_nss_sign NSSDB NICKNAME TEMPLATE OUT\n");
    return 2;
  }
  xmlInitParser();
  if (xmlSecInit() < 0 || xmlSecCheckVersion() != 1) return failWith("xmlsec init failed");
  if (xmlSecNssAppInit(argv[1]) < 0) return failWith("NSS init with the database failed");
  PK11_SetPasswordFunc(askPassword);
  if (xmlSecNssInit() < 0) return failWith("xmlsec-nss init failed");
  const int rc = sign(argv[2], argv[3], argv[4]);
  xmlSecNssShutdown();
  xmlSecNssAppShutdown();
  xmlSecShutdown();
  xmlCleanupParser();
  return rc;
}
