#include "pkcs11/card_state.h"

#include "card/card_error.h"
#include "common/scope_exit.h"
#include "common/secure_memory.h"
#include "common/trace.h"
#include "crypto/digest.h"
#include "crypto/keyed_hash.h"
#include "pkcs11/mechanisms.h"
#include "pkcs11/objects.h"


namespace jpki::p11 {

struct CardState::ObjectCache {
    bool with_user = false;
    PssTrust pss = PssTrust::Trusted;
    std::shared_ptr<const std::vector<Object>> list;
};

CardState::CardState(std::unique_ptr<Transport> transport, unsigned long card_events, const MutexMaker& mutexes)
    : mutex_(mutexes()),
      login_mutex_(mutexes()),
      transport_(std::move(transport)),
      app_(*transport_),
      card_events_(card_events),
      fingerprint_key_(crypto::random_key(32)) {
    const CardIdentity& id = app_.identify();
    info_ = id.token_info;
    availability_ = id.availability;
    // Empty: the card has none, or none that could be read (identify said why in the trace).
    files_[key(TokenRole::Auth).certificate] = id.auth_certificate;
}

CardState::~CardState() { wipe(); }

void CardState::wipe_in_child() noexcept {
    for (auto& p : pins_) p.forget();
}

void CardState::wipe() noexcept {
    std::lock_guard<Mutex> lock(*login_mutex_);
    for (auto& p : pins_) p.forget();
}

const std::string& CardState::serial() {
    if (!serial_.empty()) return serial_;
    const std::string& s = info_.serial;
    const bool usable = !s.empty() && s.find_first_not_of('0') != std::string::npos;
    if (usable) {
        serial_ = s;
    } else {
        // No serial on the card: 16 hex digits of the authentication certificate's hash,
        // stable for the card and different between cards (none without that certificate).
        const Bytes& cert = certificate(key(TokenRole::Auth).certificate);
        if (cert.empty()) return serial_;
        const Bytes digest = crypto::hash(crypto::HashAlg::Sha256, cert.data(), cert.size());
        serial_ = to_hex(digest.data(), 8, HexStyle::Packed);
    }
    return serial_;
}

void CardState::note_tries(TokenRole role) {
    std::lock_guard<Mutex> lock(*login_mutex_);
    PinState& p = pins_[index(role)];
    p.tries = app_.cached_tries(pin_of(role));
    p.read_at = std::chrono::steady_clock::now();
}

int CardState::known_tries(TokenRole role) const {
    std::lock_guard<Mutex> lock(*login_mutex_);
    return pins_[index(role)].tries;
}

int CardState::tries_left(TokenRole role, std::chrono::milliseconds max_age) {
    {
        std::lock_guard<Mutex> lock(*login_mutex_);
        const PinState& p = pins_[index(role)];
        if (p.tries >= 0 && std::chrono::steady_clock::now() - p.read_at < max_age) return p.tries;
    }
    app_.pin_tries_left(pin_of(role));  // card I/O: the caller holds mutex(), not the login lock
    note_tries(role);
    return known_tries(role);
}

std::optional<int> CardState::tries_if_known(TokenRole role, std::chrono::milliseconds max_age) {
    try {
        return tries_left(role, max_age);
    } catch (const CardError& e) {
        if (!is_card_answer(e.code())) throw;
        trace_line(std::string("token shown without its PIN counter: ") + e.what());
        return std::nullopt;
    }
}

void CardState::note_tries_if_read(TokenRole role) {
    if (app_.cached_tries(pin_of(role)) >= 0) note_tries(role);
}

void CardState::check_pin(TokenRole role, const Pin& pin) {
    // Whatever happens in a PIN operation, the counter the card reported is kept.
    ScopeExit note([&] { note_tries_if_read(role); });
    app_.check_pin(pin);
}

Bytes CardState::sign(TokenRole role, const Pin& pin, SignScheme scheme, const Bytes& input, PinSource source) {
    ScopeExit note([&] { note_tries_if_read(role); });
    try {
        return app_.sign(pin, key_of(role), scheme, input, source);
    } catch (const CardError& e) {
        if (e.code() == CardErrc::PinIncorrect || e.code() == CardErrc::PinBlocked || e.code() == CardErrc::StalePin)
            logout(role);
        throw;
    }
}

void CardState::login(TokenRole role, Pin pin) {
    ScopeExit note([&] { note_tries_if_read(role); });
    // A certificate behind the PIN is read in the login's own transaction.
    const KeyInfo& k = key(role);
    if (k.certificate_needs_pin) {
        files_[k.certificate] = app_.read_certificate_with_pin(k.certificate, pin);
    } else {
        app_.check_pin(pin);
    }
    keep_login(role, std::move(pin));
}

void CardState::keep_login(TokenRole role, Pin pin) {
    const KeyInfo& k = key(role);
    const std::uint64_t epoch = app_.epoch();
    SecureBuffer fingerprint = k.pin_each_signature ? crypto::keyed_hash(fingerprint_key_, pin.bytes()) : SecureBuffer();
    std::lock_guard<Mutex> lock(*login_mutex_);
    PinState& p = pins_[index(role)];
    p.forget();
    p.logged_in = true;
    if (k.pin_each_signature) {
        p.fingerprint = std::move(fingerprint);
    } else {
        p.kept.emplace(std::move(pin));
        p.kept_epoch = epoch;
    }
}

void CardState::change_pin(TokenRole role, const Pin& old_pin, Pin new_pin) {
    ScopeExit note([&] { note_tries_if_read(role); });
    try {
        app_.change_pin(old_pin, new_pin);
    } catch (...) {
        logout(role);
        throw;
    }
    if (!logged_in(role)) return;
    keep_login(role, std::move(new_pin));
}

void CardState::logout(TokenRole role) noexcept {
    std::lock_guard<Mutex> lock(*login_mutex_);
    pins_[index(role)].forget();
}

bool CardState::logged_in(TokenRole role) const {
    std::lock_guard<Mutex> lock(*login_mutex_);
    return pins_[index(role)].logged_in;
}

std::optional<CardState::KeptPin> CardState::kept_pin(TokenRole role) const {
    std::lock_guard<Mutex> lock(*login_mutex_);
    const PinState& p = pins_[index(role)];
    if (!p.logged_in || !p.kept) return std::nullopt;
    return KeptPin{p.kept->clone(), PinSource::kept_since(p.kept_epoch)};
}

bool CardState::is_login_pin(TokenRole role, const Pin& pin) const {
    const SecureBuffer candidate = crypto::keyed_hash(fingerprint_key_, pin.bytes());
    std::lock_guard<Mutex> lock(*login_mutex_);
    const PinState& p = pins_[index(role)];
    return p.logged_in && p.fingerprint.size() == candidate.size() &&
           equal_in_constant_time(p.fingerprint.data(), candidate.data(), candidate.size());
}

const Bytes* CardState::cached_file(CertFile file) const {
    auto it = files_.find(file);
    return it == files_.end() ? nullptr : &it->second;
}

const Bytes& CardState::certificate(CertFile file) {
    auto it = files_.find(file);
    if (it != files_.end()) return it->second;
    for (KeyRef k : {KeyRef::Auth, KeyRef::Sign})
        if (app_.key_info(k).certificate == file && app_.key_info(k).certificate_needs_pin)
            throw CardError(CardErrc::SecurityStatusNotSatisfied, "certificate needs login");
    return files_[file] = app_.read_certificate(file);
}

const crypto::CertificateInfo* CardState::user_certificate(TokenRole role) {
    auto& info = user_info_[index(role)];
    if (info) return &*info;
    const KeyInfo& k = key(role);
    const Bytes* der = cached_file(k.certificate);
    if (!der) {
        if (k.certificate_needs_pin) return nullptr;  // read at login only
        der = &certificate(k.certificate);
    }
    if (der->empty()) return nullptr;  // none on the card: the token shows no key
    info = usable_certificate(*der, "certificate on the card");
    return info ? &*info : nullptr;
}

// A certificate that does not parse is left out (with its key: the card gives no other way to
// its public key), not the token: one trace line says so.
std::optional<crypto::CertificateInfo> CardState::usable_certificate(const Bytes& der, const char* what) {
    try {
        return parsed(der, what);
    } catch (const CardError& e) {
        trace_line(std::string(e.what()) + ": left out, with the objects that need it");
        return std::nullopt;
    }
}

crypto::CertificateInfo CardState::parsed(const Bytes& der, const char* what) {
    try {
        return crypto::parse_certificate(der);
    } catch (const std::exception& e) {
        throw CardError(CardErrc::MalformedResponse, std::string(what) + ": " + e.what());
    }
}

std::shared_ptr<const std::vector<Object>> CardState::objects(TokenRole role, CK_SLOT_ID slot) {
    auto& cache = objects_[index(role)];
    const crypto::CertificateInfo* user = user_certificate(role);
    const PssTrust pss = pss_trust();
    if (cache && cache->with_user == (user != nullptr) && cache->pss == pss) return cache->list;
    auto fresh = std::make_unique<ObjectCache>();
    fresh->with_user = user != nullptr;
    fresh->pss = pss;
    const KeyInfo& k = key(role);
    const std::optional<crypto::CertificateInfo> ca = ca_certificate(k.ca_certificate);
    fresh->list = std::make_shared<const std::vector<Object>>(token_objects(
        slot, role, TokenCertificates{user, ca ? &*ca : nullptr}, k, signature_mechanisms(k, pss)));
    cache = std::move(fresh);
    return cache->list;
}

// The CA certificate, when the card has one that parses; read once (an empty file: none).
std::optional<crypto::CertificateInfo> CardState::ca_certificate(CertFile file) {
    if (!cached_file(file)) {
        try {
            certificate(file);
        } catch (const CardError& e) {
            if (!is_card_answer(e.code())) throw;
            trace_line(std::string("CA certificate unreadable (") + e.what() + "): left out");
            files_[file] = Bytes();
        }
    }
    const Bytes& der = *cached_file(file);
    if (der.empty()) return std::nullopt;
    return usable_certificate(der, "CA certificate on the card");
}

PssTrust CardState::pss_trust() {
    if (pss_probed_ || pss_trust_ == PssTrust::GivenUp) return pss_trust_;
    const KeyRef probed = key(TokenRole::Auth).pss_mode ? KeyRef::Auth : KeyRef::Sign;
    if (!app_.key_info(probed).pss_mode) return pss_trust_;  // the profile offers no PSS at all
    pss_probed_ = true;  // once per card, whatever it answers
    try {
        if (app_.probe_pss(probed) == PssProbe::Refused) {
            trace_line("card refused its PSS mode (6A86 without a PIN): PSS is not offered for this card");
            give_up_pss();
        }
    } catch (const CardError& e) {
        if (is_card_gone(e.code())) throw;
        trace_line(std::string("PSS check: nothing learned (") + e.what() + ")");
    }
    return pss_trust_;
}

}  // namespace jpki::p11
