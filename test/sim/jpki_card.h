// A simulated My Number Card: the JPKI AP as ../shared/jpki-card.md describes it, answering
// raw APDUs with the status words a card sends. One model, used in-process by the unit tests
// (SimTransport) and behind vpcd by the jpki-sim program.
#pragma once

#include "common/bytes.h"

#include <openssl/evp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace jpki::sim {

// A file's content on a card that differs from the documents (jpki-sim --variant).
enum class FileVariant {
    Normal,
    Absent,          // SELECT answers 6A82
    Short,           // fewer bytes than the documents say (EF 0006: 40; EF 0008: 1)
    Zeros,           // all zero bytes
    Garbage,         // bytes that mean nothing (unprintable, no DER)
    UnexpectedBits,  // EF 0008: neither 8F nor 00 (8E 0F 01)
    BadDerLength,    // a certificate whose DER header claims more than the file holds
    NotCertificate,  // a DER SEQUENCE of the right length holding no certificate
};

struct CardConfig {
    std::string pki_dir;                  // auth_cert.der auth_key.pem auth_ca.der sign_* (gen-test-pki.sh)
    std::string serial = "JPKISIM000000001";  // EF 0006 serial (16 chars)
    std::string token_label = "JPKIAPICCTOKEN2";
    std::string auth_pin = "1234";
    std::string sign_pin = "SIGN1234";
    bool has_sign_cert = true;            // false: a card issued under 15 (EF 0008 = 00 8F 00)
    bool sfi_verify = true;               // accepts VERIFY P2=98/9B
    bool sfi_sign = true;                 // accepts sign P2=97/9A
    bool pss = true;                      // P1=04/05 implemented (else 6A86)
    bool security_before_p1 = false;      // sign: 6982 before looking at P1 while no PIN is verified
    int pss_salt_length = 32;
    std::uint16_t blocked_verify_sw = 0x6984;  // VERIFY with data on a blocked PIN
    bool t0_get_response = false;         // answer data as 61xx + GET RESPONSE (T=0 style)
    bool other_ap_clears_status = false;  // selecting another AP drops JPKI security status
    bool warm_reset_keeps_status = false; // a reader whose warm reset does not clear verified PINs
    std::string state_file;               // retry counters kept across runs
    int apdu_latency_ms = 0;
    int sign_latency_ms = 0;
    // Variants (see jpki-sim --variant): files, and answers the documents do not describe.
    FileVariant token_info_file = FileVariant::Normal;    // EF 0006
    FileVariant availability_file = FileVariant::Normal;  // EF 0008
    FileVariant auth_cert_file = FileVariant::Normal;     // EF 000A
    bool ca_files_absent = false;                         // EF 0002 and 000B
    std::uint16_t empty_verify_sw = 0;                    // not 0: the empty VERIFY's answer, always
    bool empty_verify_ok_when_verified = false;           // the empty VERIFY answers 9000 while verified
    bool select_with_fci = false;                         // SELECT answers FCI data even for P2=0C
    bool select_61xx = false;                             // SELECT answers 61xx (FCI for GET RESPONSE)
    bool read_end_6282 = false;                           // READ BINARY up to the end answers 6282
    bool extended_sign_only = false;                      // the signature needs extended length (6700 short)
};

enum class Fault {
    None,
    Garbage,      // answer random bytes
    Truncated,    // answer one byte (no complete status word)
    Mute,         // answer nothing at all
    Removed,      // the card is pulled out while the command runs
    ResetBefore,  // the card is reset (security status lost) before the command runs
    Sw6F00,       // answer 6F00 (no precise diagnosis)
    RemovedAfterVerify,  // the card is pulled out at the first command after a VERIFY with a PIN
};

// One line of the card's APDU log.
struct LoggedApdu {
    Bytes header;   // CLA INS P1 P2
    std::size_t lc = 0;
    bool redacted = false;  // PIN data (VERIFY, CHANGE REFERENCE DATA): never logged
    std::uint16_t sw = 0;
    std::size_t response_len = 0;
    std::string text() const;  // "00 20 00 98 Lc=4 data=<redacted> -> 63C2 len=0"
};

class JpkiCard {
public:
    explicit JpkiCard(CardConfig config);  // throws std::runtime_error on an unreadable PKI
    ~JpkiCard();
    JpkiCard(const JpkiCard&) = delete;
    JpkiCard& operator=(const JpkiCard&) = delete;

    static const Bytes& atr();

    void power_on();
    void power_off();
    void reset();  // warm reset: same as power cycle for the card's state
    // Another card in the same reader, seen by PC/SC only as a reset (it keeps one pending
    // event per handle: a removal followed by a reset by another program shows as the reset).
    void become(CardConfig config);
    bool powered() const { return powered_; }
    // How many times the card was reset or powered off (a transport notices a change).
    unsigned resets() const { return resets_; }

    // Answers one command APDU. Never throws for anything the terminal sends.
    // With a Removed fault pending, returns an empty answer and sets removed().
    Bytes process(const Bytes& command);

    // Fault injection: the `nth` APDU from now (1 = the next one) meets `fault`.
    void inject_fault(Fault fault, int nth = 1);
    // True after a Removed fault fired (until the card is inserted again).
    bool removed() const { return removed_; }
    void insert() { removed_ = false; power_off(); }
    // Takes the card out of its reader (removed() becomes true).
    void pull_out() { removed_ = true; power_off(); }

    // Observation for tests.
    const std::vector<LoggedApdu>& log() const { return log_; }
    void clear_log() { log_.clear(); }
    // Number of VERIFY commands that carried data (PIN presentations) in the log.
    std::size_t verify_with_data_count() const;
    int tries_left(bool sign_pin) const { return sign_pin ? sign_tries_ : auth_tries_; }
    void set_tries_left(bool sign_pin, int tries);
    bool auth_verified() const { return auth_ok_; }
    bool sign_verified() const { return sign_ok_; }
    const CardConfig& config() const { return config_; }
    // Called with each log line as it is made (jpki-sim writes them to its --log file).
    std::function<void(const LoggedApdu&)> on_log;

private:
    enum class Df { None, Jpki, OtherAp };
    struct Response;
    Response dispatch(const Bytes& c);
    Response select(const Bytes& c);
    Response read_binary(const Bytes& c);
    Response verify(const Bytes& c);
    Response sign(const Bytes& c);
    Response change_reference_data(const Bytes& c);
    Response get_response(const Bytes& c);
    Response get_challenge(const Bytes& c);
    Response get_data(const Bytes& c);
    const Bytes* file(std::uint16_t fid) const;
    bool absent(std::uint16_t fid) const;  // a variant card without this EF
    Response with_fci(Bytes fci);
    void apply_variants();
    void clear_security();
    void load_contents();
    void load_state();
    void save_state() const;

    CardConfig config_;
    std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> auth_key_;
    std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> sign_key_;
    Bytes ef_sign_cert_, ef_sign_ca_, ef_auth_cert_, ef_auth_ca_, ef_token_info_, ef_availability_;

    bool powered_ = false;
    bool removed_ = false;
    unsigned resets_ = 0;
    bool fresh_after_reset_ = true;  // SELECT MF answers 6A86 right after reset
    Df df_ = Df::None;
    std::uint16_t current_ef_ = 0;
    bool auth_ok_ = false;
    bool sign_ok_ = false;
    int auth_tries_ = 3;
    int sign_tries_ = 5;
    Bytes pending_;  // data waiting for GET RESPONSE
    Fault fault_ = Fault::None;
    int fault_countdown_ = 0;
    bool pull_at_next_command_ = false;  // Fault::RemovedAfterVerify armed by a VERIFY
    std::vector<LoggedApdu> log_;
};

}  // namespace jpki::sim
