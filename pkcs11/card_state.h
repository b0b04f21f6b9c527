// One inserted JPKI card, shared by its two tokens: the connection, what was read from the
// card once per insertion, the PIN counters with their age, and each token's login. Dropped
// whole when the card leaves; a new insertion is a new CardState.
#pragma once

#include "card/jpki_app.h"
#include "card/reader_provider.h"
#include "crypto/certificate.h"
#include "pkcs11/mechanisms.h"
#include "pkcs11/mutex.h"
#include "pkcs11/pkcs11.h"
#include "pkcs11/token_role.h"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace jpki::p11 {

struct Object;


class CardState {
public:
    // Connects and reads the token info and EF 0008 (one transaction). Throws CardError,
    // NotJpki for a card without the JPKI AP. Its locks come from `mutexes`.
    CardState(std::unique_ptr<Transport> transport, unsigned long card_events, const MutexMaker& mutexes);
    ~CardState();

    // Held for every use of the card (its I/O) and of the certificates and objects below.
    // Logins and PIN counters have a lock of their own, never held across card I/O, so that
    // logging out or dropping a card never waits for a signature in progress.
    Mutex& mutex() { return *mutex_; }

    unsigned long card_events() const { return card_events_; }
    const TokenInfo& token_info() const { return info_; }
    bool has_sign_token() const { return availability_.sign; }
    // The serial both tokens show: EF 0006's, or (when that is empty or zeros) one derived
    // from the authentication certificate.
    const std::string& serial();

    // Tries left on a token's PIN; read from the card (no try spent) when unknown, older than
    // `max_age`, or `force`.
    int tries_left(TokenRole role, std::chrono::milliseconds max_age);
    // tries_left, or nullopt when the card gives no counter (its answer makes no sense): the
    // token is still shown, and a login refuses without sending a PIN.
    std::optional<int> tries_if_known(TokenRole role, std::chrono::milliseconds max_age);
    // Last known value without touching the card (-1 unknown).
    int known_tries(TokenRole role) const;

    // Login: checks the PIN on the card (the card is locked again at once). The PIN is kept
    // for a key that signs without a PIN of its own (each signature sends it again); of a key
    // that asks for a PIN per signature only a keyed hash is kept, to know that PIN again.
    // The sign token also reads its certificate, which needs the PIN. Throws CardError.
    void login(TokenRole role, Pin pin);
    void logout(TokenRole role) noexcept;
    // Changes the token's PIN on the card (one transaction, locked again). On success a login
    // of this token now keeps the new PIN; on any error the login ends (the card may no longer
    // hold the kept one). Throws CardError.
    void change_pin(TokenRole role, const Pin& old_pin, Pin new_pin);
    // Checks a PIN on the card (locked again at once) without logging in: the per-signature
    // PIN of a key that always needs authentication.
    void check_pin(TokenRole role, const Pin& pin);
    // VERIFY + signature + lock in one card transaction. A PIN the card now refuses (changed
    // elsewhere) logs the token out; the error is not retried. A kept PIN is sent only while
    // nothing suggests it may have changed (see JpkiSession::refuse_if_stale).
    Bytes sign(TokenRole role, const Pin& pin, SignScheme scheme, const Bytes& input, PinSource source);
    bool logged_in(TokenRole role) const;
    struct KeptPin {
        Pin pin;
        PinSource source;
    };
    // A copy of the PIN kept since C_Login, for one operation (none when logged out, or for a
    // key with a PIN per signature).
    std::optional<KeptPin> kept_pin(TokenRole role) const;
    // Whether `pin` is the one the card accepted at C_Login (by its keyed hash).
    bool is_login_pin(TokenRole role, const Pin& pin) const;

    // A certificate, read once per insertion (the sign certificate only after login).
    const Bytes* cached_file(CertFile file) const;
    const Bytes& certificate(CertFile file);

    JpkiApp& app() { return app_; }
    // What the card says about the key of a token.
    const KeyInfo& key(TokenRole role) const { return app_.key_info(key_of(role)); }

    // The token's objects, built from its certificates on first use (reading them if needed)
    // and rebuilt when the signature certificate arrives or PSS is given up. Shared, so callers
    // keep using a list after the card lock is released without copying it.
    std::shared_ptr<const std::vector<Object>> objects(TokenRole role, CK_SLOT_ID slot);
    // The user certificate of a token, parsed; null while it cannot be read (sign, logged out).
    const crypto::CertificateInfo* user_certificate(TokenRole role);
    // Whether the card's PSS mode is trusted: it is until the card refuses the mode or a
    // signature fails its self-check. Asked first (before any mechanism is shown), the card is
    // sent one PSS request without a PIN: a card that answers 6A86 has no PSS mode, so PSS is
    // never offered for it (see JpkiApp::probe_pss).
    PssTrust pss_trust();
    void give_up_pss() { pss_trust_ = PssTrust::GivenUp; }
    // Forget every PIN (wiped). Used on removal and finalize.
    void wipe() noexcept;
    // The same in a forked child, without taking a lock a parent thread may have held at the
    // fork (the child has one thread).
    void wipe_in_child() noexcept;

private:
    struct PinState {
        int tries = -1;
        std::chrono::steady_clock::time_point read_at{};
        bool logged_in = false;
        std::optional<Pin> kept;       // keys without a PIN per signature
        std::uint64_t kept_epoch = 0;  // JpkiApp::epoch() when the card accepted it
        SecureBuffer fingerprint;      // keyed hash of the login PIN (keys with one per signature)
        void forget() noexcept {
            logged_in = false;
            kept.reset();  // ~Pin wipes its buffer
            fingerprint.clear();
        }
    };
    static std::size_t index(TokenRole r) { return static_cast<std::size_t>(r); }
    // Marks the token logged in with `pin` (kept, or its fingerprint; see login()).
    void keep_login(TokenRole role, Pin pin);
    void note_tries(TokenRole role);
    void note_tries_if_read(TokenRole role);
    static crypto::CertificateInfo parsed(const Bytes& der, const char* what);

    std::unique_ptr<Mutex> mutex_;
    std::unique_ptr<Mutex> login_mutex_;  // guards pins_; a leaf lock
    std::unique_ptr<Transport> transport_;
    JpkiApp app_;
    unsigned long card_events_;
    TokenInfo info_;
    CertAvailability availability_;
    std::string serial_;
    PinState pins_[2];
    SecureBuffer fingerprint_key_;  // random, for this card's PIN fingerprints
    std::optional<crypto::CertificateInfo> usable_certificate(const Bytes& der, const char* what);
    std::optional<crypto::CertificateInfo> ca_certificate(CertFile file);
    std::map<CertFile, Bytes> files_;
    std::optional<crypto::CertificateInfo> user_info_[2];
    struct ObjectCache;
    std::unique_ptr<ObjectCache> objects_[2];
    PssTrust pss_trust_ = PssTrust::Trusted;
    bool pss_probed_ = false;
};

}  // namespace jpki::p11
