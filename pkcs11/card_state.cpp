#include "pkcs11/card_state.h"

#include "card/card_error.h"
#include "pkcs11/mechanisms.h"
#include "pkcs11/objects.h"

#include <openssl/sha.h>

#include <algorithm>
#include <functional>
#include <tuple>

namespace jpki::p11 {

struct CardState::ObjectCache {
    bool with_user = false;
    bool pss = false;
    std::shared_ptr<const std::vector<Object>> list;
};

CardState::CardState(std::unique_ptr<Transport> transport, unsigned long card_events, std::unique_ptr<Mutex> mutex)
    : mutex_(std::move(mutex)), transport_(std::move(transport)), app_(*transport_), card_events_(card_events) {
    std::tie(info_, availability_) = app_.identify();
}

CardState::~CardState() { wipe(); }

void CardState::wipe_in_child() noexcept {
    for (auto& p : pins_) p.login.reset();
}

void CardState::wipe() noexcept {
    std::lock_guard<std::mutex> lock(pins_mutex_);
    for (auto& p : pins_) p.login.reset();  // ~Pin wipes its buffer
}

const std::string& CardState::serial() {
    if (!serial_.empty()) return serial_;
    const std::string& s = info_.serial;
    const bool usable = !s.empty() && s.find_first_not_of('0') != std::string::npos;
    if (usable) {
        serial_ = s;
    } else {
        // No serial on the card: 16 hex digits of the authentication certificate's hash,
        // stable for the card and different between cards.
        const Bytes& cert = certificate(CertFile::AuthCert);
        unsigned char digest[SHA256_DIGEST_LENGTH];
        SHA256(cert.data(), cert.size(), digest);
        serial_ = to_hex(digest, 8, false);
    }
    return serial_;
}

void CardState::note_tries(TokenRole role) {
    std::lock_guard<std::mutex> lock(pins_mutex_);
    PinState& p = pins_[index(role)];
    p.tries = app_.cached_tries(pin_of(role));
    p.read_at = std::chrono::steady_clock::now();
}

int CardState::known_tries(TokenRole role) const {
    std::lock_guard<std::mutex> lock(pins_mutex_);
    return pins_[index(role)].tries;
}

int CardState::tries_left(TokenRole role, std::chrono::milliseconds max_age) {
    {
        std::lock_guard<std::mutex> lock(pins_mutex_);
        const PinState& p = pins_[index(role)];
        if (p.tries >= 0 && std::chrono::steady_clock::now() - p.read_at < max_age) return p.tries;
    }
    app_.pin_tries_left(pin_of(role));  // card I/O: the caller holds mutex(), not pins_mutex_
    note_tries(role);
    return known_tries(role);
}

namespace {
// Whatever happens in a PIN operation, the counter the card reported is kept.
struct NoteTries {
    std::function<void()> f;
    ~NoteTries() { f(); }
};
}  // namespace

void CardState::check_pin(TokenRole role, const Pin& pin) {
    NoteTries note{[&] { if (app_.cached_tries(pin_of(role)) >= 0) note_tries(role); }};
    app_.check_pin(pin);
}

Bytes CardState::sign(TokenRole role, const Pin& pin, SignScheme scheme, const Bytes& input, bool kept) {
    NoteTries note{[&] { if (app_.cached_tries(pin_of(role)) >= 0) note_tries(role); }};
    try {
        return app_.sign(pin, key_of(role), scheme, input, kept);
    } catch (const CardError& e) {
        if (e.code() == CardErrc::PinIncorrect || e.code() == CardErrc::PinBlocked || e.code() == CardErrc::StalePin)
            logout(role);
        throw;
    }
}

void CardState::login(TokenRole role, Pin pin) {
    NoteTries note{[&] { if (app_.cached_tries(pin_of(role)) >= 0) note_tries(role); }};
    if (role == TokenRole::Sign) {
        files_[CertFile::SignCert] = app_.read_certificate_with_pin(CertFile::SignCert, pin);
    } else {
        app_.check_pin(pin);
    }
    std::lock_guard<std::mutex> lock(pins_mutex_);
    pins_[index(role)].login.emplace(std::move(pin));
}

void CardState::logout(TokenRole role) noexcept {
    std::lock_guard<std::mutex> lock(pins_mutex_);
    pins_[index(role)].login.reset();
}

bool CardState::logged_in(TokenRole role) const {
    std::lock_guard<std::mutex> lock(pins_mutex_);
    return pins_[index(role)].login.has_value();
}

std::optional<Pin> CardState::login_pin(TokenRole role) const {
    std::lock_guard<std::mutex> lock(pins_mutex_);
    const auto& l = pins_[index(role)].login;
    if (!l) return std::nullopt;
    return l->clone();
}

const Bytes* CardState::cached_file(CertFile file) const {
    auto it = files_.find(file);
    return it == files_.end() ? nullptr : &it->second;
}

const Bytes& CardState::certificate(CertFile file) {
    auto it = files_.find(file);
    if (it != files_.end()) return it->second;
    if (file == CertFile::SignCert) throw CardError(CardErrc::SecurityStatusNotSatisfied, "sign certificate needs login");
    return files_[file] = app_.read_certificate(file);
}

}  // namespace jpki::p11

namespace jpki::p11 {

const crypto::CertificateInfo* CardState::user_certificate(TokenRole role) {
    auto& info = user_info_[index(role)];
    if (info) return &*info;
    const CertFile file = role == TokenRole::Auth ? CertFile::AuthCert : CertFile::SignCert;
    const Bytes* der = cached_file(file);
    if (!der) {
        if (role == TokenRole::Sign) return nullptr;  // read at login only
        der = &certificate(file);
    }
    try {
        info = crypto::parse_certificate(*der);
    } catch (const std::exception& e) {
        throw CardError(CardErrc::MalformedResponse, std::string("certificate on the card: ") + e.what());
    }
    return &*info;
}

std::shared_ptr<const std::vector<Object>> CardState::objects(TokenRole role, CK_SLOT_ID slot) {
    auto& cache = objects_[index(role)];
    const crypto::CertificateInfo* user = user_certificate(role);
    if (cache && cache->with_user == (user != nullptr) && cache->pss == pss_available_) return cache->list;
    auto fresh = std::make_unique<ObjectCache>();
    fresh->with_user = user != nullptr;
    fresh->pss = pss_available_;
    auto list = std::make_shared<std::vector<Object>>();
    const CertFile ca_file = role == TokenRole::Auth ? CertFile::AuthCa : CertFile::SignCa;
    try {
        list->push_back(make_ca_object(slot, role, crypto::parse_certificate(certificate(ca_file))));
    } catch (const CardError&) {
        throw;
    } catch (const std::exception& e) {
        throw CardError(CardErrc::MalformedResponse, std::string("CA certificate on the card: ") + e.what());
    }
    if (user) {
        for (Object& o : make_key_objects(slot, role, *user, signature_mechanisms(pss_available_)))
            list->push_back(std::move(o));
    }
    fresh->list = std::move(list);
    cache = std::move(fresh);
    return cache->list;
}

}  // namespace jpki::p11
