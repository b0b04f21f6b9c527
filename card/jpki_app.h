// The JPKI application (AID D3 92 F0 00 26 01 00 00 00 01) of the My Number Card: reading its
// files, PIN counters, VERIFY and COMPUTE DIGITAL SIGNATURE. Facts: ../shared/jpki-card.md.
//
// Every operation runs inside one card transaction that starts by selecting the AP (another
// process may have selected something else since). A transaction in which a PIN was sent ends
// with a card reset, so a verified PIN never outlives the operation that needed it.
#pragma once

#include "card/card_channel.h"
#include "card/jpki_profile.h"
#include "card/pin.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace jpki {

// The first 32 bytes of EF 0006 name the kind of token.
enum class TokenKind { Card, JukiCard, AndroidSe, IPhone, Unknown };

struct TokenInfo {
    TokenKind kind = TokenKind::Unknown;
    std::string label;         // "JPKIAPICCTOKEN2", trailing spaces trimmed
    std::string manufacturer;  // EF 0006 bytes 32..63, trimmed
    std::string model;         // bytes 64..79, trimmed
    std::string serial;        // bytes 80..95, trimmed
};

// EF 0008: byte 0 describes the signature certificate, byte 1 the authentication one;
// 8F means present (a card without the signature certificate, e.g. under 15, has 00 there).
struct CertAvailability {
    bool sign = false;
    bool auth = false;
};

// P1 of COMPUTE DIGITAL SIGNATURE (80 2A).
enum class SignScheme : std::uint8_t {
    Pkcs1 = 0x00,          // data (a DigestInfo, 1..245 bytes) padded PKCS#1 v1.5 by the card
    PssSha256Hash = 0x04,  // data is a SHA-256 hash, signed RSASSA-PSS by the card
};

// What a card said to a PSS signature request sent while no PIN is verified (it costs no
// try): a card that checks P1 before the security status answers 6A86 when it has no PSS
// mode, and 6982 when it has one, or when it checks the security status first.
enum class PssProbe {
    Refused,  // 6A86: no PSS mode
    Unknown,  // 6982, or anything else: nothing learned (the self-check still guards)
    Works,    // 9000: a signature came out (another program left the card unlocked)
};

// Where a PIN about to be sent comes from.
struct PinSource {
    enum class Kind {
        Typed,  // given by the user for this operation
        Kept,   // kept by the module since an earlier login
    };
    Kind kind = Kind::Typed;
    std::uint64_t card_epoch = 0;  // Kept: JpkiApp::epoch() when the card accepted the PIN

    static PinSource typed() { return {}; }
    // A kept PIN is sent only while nothing suggests it may have changed: the card seen reset
    // by another program since (a PIN change needs a VERIFY, and everything that unlocks a
    // card ends with a reset), or a counter that is not full.
    static PinSource kept_since(std::uint64_t epoch) { return {Kind::Kept, epoch}; }
};

// What tells this card from another: EF 0006 and the authentication certificate, read when
// the card is identified and compared again after every reset by someone else.
struct CardIdentity {
    TokenInfo token_info;
    CertAvailability availability;
    Bytes auth_certificate;  // empty when the card has none
};

class JpkiApp;

// One card transaction with the JPKI AP selected. Ends with a card reset if a PIN was sent.
class JpkiSession {
public:
    ~JpkiSession();
    JpkiSession(const JpkiSession&) = delete;
    JpkiSession& operator=(const JpkiSession&) = delete;

    // Reads a whole transparent EF whose length is given by a DER header (certificates),
    // in as few READ BINARY commands as its length allows.
    Bytes read_certificate(CertFile file);
    TokenInfo read_token_info();
    CertAvailability read_cert_availability();
    // Tries left on a PIN, from an empty VERIFY (spends no try). 0 = blocked.
    int pin_tries_left(PinRef ref);
    // Checks the counter, refuses a blocked PIN without sending it, then one VERIFY.
    // Throws PinIncorrect (with tries left) or PinBlocked. Never retried. A kept PIN is not
    // sent when it may have changed (CardErrc::StalePin; see PinSource::kept_since).
    void verify(const Pin& pin, PinSource source = PinSource::typed());
    // After verify() of the same PIN: CHANGE REFERENCE DATA with `new_pin`, its IEF selected
    // first (P2=80, as every source sends it). Never retried. Throws CardError.
    void change_reference_data(const Pin& new_pin);
    // Locks the card again after a VERIFY (the card reset, checked once per card by a probe
    // that spends no try). Throws when it cannot be sure the card is locked: the operation
    // fails then, after a power cycle. The destructor does the same, best effort, for a
    // session left by an exception.
    void finish();
    // COMPUTE DIGITAL SIGNATURE with a key whose PIN was verified in this session.
    Bytes sign(KeyRef key, SignScheme scheme, const Bytes& input);

private:
    friend class JpkiApp;
    explicit JpkiSession(JpkiApp& app);
    // A READ BINARY answer: the data, and whether the card said the file ended there.
    struct Chunk {
        Bytes data;
        bool end_of_file = false;
    };
    void select_application();
    void confirm_identity();
    void select_ef(std::uint16_t fid);
    Chunk read_binary(std::uint16_t offset, std::uint32_t le);
    std::uint16_t empty_verify(PinRef ref);
    void lock_card();
    bool key_usable(KeyRef key);
    PssProbe probe_pss(KeyRef key);
    void refuse_if_stale(PinRef ref, PinSource source, int tries);
    bool any_key_usable();

    JpkiApp& app_;
    TransactionGuard guard_;
    // The PINs presented in this transaction: the card is locked again at its end, and the
    // first time a card is locked, the keys of these PINs are probed.
    bool sent_[2] = {false, false};
    bool locked_ = false;  // finish() locked the card
};

class JpkiApp {
public:
    explicit JpkiApp(Transport& transport);

    // Begins a transaction and selects the AP. Throws CardError(NotJpki) when the card has
    // no JPKI AP.
    JpkiSession open();

    // One-transaction operations.
    // What a new card is identified by (EF 0006, EF 0008, the authentication certificate),
    // remembered: after a reset by someone else, a card is checked to be the same before
    // anything else is sent (CardErrc::OtherCard otherwise).
    const CardIdentity& identify();
    TokenInfo read_token_info();
    CertAvailability read_cert_availability();
    Bytes read_certificate(CertFile file);
    int pin_tries_left(PinRef ref);
    // VERIFY, then lock the card again: tells whether the PIN is right.
    void check_pin(const Pin& pin);
    // VERIFY, read a file that needs the PIN (the signature certificate), lock again.
    Bytes read_certificate_with_pin(CertFile file, const Pin& pin);
    // Counter, VERIFY of `old_pin`, CHANGE REFERENCE DATA, lock again: one transaction.
    // Throws PinIncorrect / PinBlocked for the old PIN, or the card's error for the change.
    void change_pin(const Pin& old_pin, const Pin& new_pin);
    // VERIFY, sign, lock again. The key's PIN must match (`pin.ref()`).
    Bytes sign(const Pin& pin, KeyRef key, SignScheme scheme, const Bytes& input,
               PinSource source = PinSource::typed());
    // A PSS signature request without a PIN (see PssProbe), over an all-zero hash.
    PssProbe probe_pss(KeyRef key);
    // How many times a reset by someone else was seen: a kept PIN belongs to one epoch.
    std::uint64_t epoch() const { return epoch_; }
    // What the card's profile says about a key (algorithm, size, PSS mode).
    const KeyInfo& key_info(KeyRef key) const { return profile::key(key); }

    CardChannel& channel() { return channel_; }
    // APDUs and bytes of the last one-transaction operation.
    const ApduStats& last_operation() const { return last_; }
    // Last counter this object saw for a PIN (-1 = not read yet).
    int cached_tries(PinRef ref) const { return ref == PinRef::Auth ? tries_auth_ : tries_sign_; }

private:
    friend class JpkiSession;
    template <typename F>
    auto measured(const char* name, F&& f);
    void remember_tries(PinRef ref, int tries) { (ref == PinRef::Auth ? tries_auth_ : tries_sign_) = tries; }

    CardChannel channel_;
    ApduStats last_;
    // Whether the card takes the short-EF forms (VERIFY P2=98/9B, sign P2=97/9A); unknown
    // until a command tried them.
    std::optional<bool> sfi_verify_;
    std::optional<bool> sfi_sign_;
    int tries_auth_ = -1;
    int tries_sign_ = -1;
    // Whether a warm reset clears this card's security status (a single-source fact, checked
    // once per card: see JpkiSession::lock_card); unknown until the first reset.
    std::optional<bool> warm_reset_locks_;
    // Set when the card could not be locked again after a VERIFY: never used again.
    bool relock_failed_ = false;
    std::optional<CardIdentity> identity_;
    std::uint64_t epoch_ = 0;
};

}  // namespace jpki
