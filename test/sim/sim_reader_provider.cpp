#include "test/sim/sim_reader_provider.h"

#include "card/card_error.h"
#include "test/sim/sim_transport.h"

#include <chrono>

namespace jpki::sim {

namespace {

// A SimTransport that keeps its card alive after the card left the reader.
class OwningSimTransport : public SimTransport {
public:
    explicit OwningSimTransport(std::shared_ptr<JpkiCard> card) : SimTransport(*card), card_(std::move(card)) {}

private:
    std::shared_ptr<JpkiCard> card_;
};

class SimReaderProvider : public ReaderProvider {
public:
    SimReaderProvider() : seen_(SimReaders::instance().generation()) {}

    std::vector<ReaderSnapshot> readers() override { return SimReaders::instance().snapshot(); }

    std::unique_ptr<Transport> connect(const std::string& reader) override {
        auto card = SimReaders::instance().card_named(reader);
        if (!card) throw CardError(CardErrc::NoCard, "SimReaderProvider::connect");
        return std::make_unique<OwningSimTransport>(std::move(card));
    }

    bool wait_for_change(long timeout_ms) override {
        return SimReaders::instance().wait(seen_, timeout_ms, cancelled_);
    }

    void cancel() noexcept override {
        SimReaders::instance().raise_and_wake(cancelled_);
    }

    void abandon() noexcept override {}

private:
    unsigned long seen_;
    bool cancelled_ = false;
};

}  // namespace

namespace {
// Made when the library is loaded and never destroyed, like the module's own state: a client
// may call the module from exit handlers that run after static destructors.
SimReaders& g_readers = *new SimReaders;
}  // namespace

SimReaders& SimReaders::instance() { return g_readers; }

void SimReaders::changed() {
    ++generation_;
    cv_.notify_all();
}

int SimReaders::add_reader(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    readers_.push_back({name, nullptr, 0});
    changed();
    return static_cast<int>(readers_.size()) - 1;
}

std::shared_ptr<JpkiCard> SimReaders::insert(int reader, const CardConfig& config) {
    auto card = std::make_shared<JpkiCard>(config);
    card->power_on();
    std::lock_guard<std::mutex> lock(mutex_);
    Reader& r = readers_.at(static_cast<std::size_t>(reader));
    if (r.card) r.card->pull_out();
    r.card = card;
    r.events += 2;  // like pcsc-lite: a removal and an insertion may hide in one look
    changed();
    return card;
}

void SimReaders::remove(int reader) {
    std::lock_guard<std::mutex> lock(mutex_);
    Reader& r = readers_.at(static_cast<std::size_t>(reader));
    if (!r.card) return;
    r.card->pull_out();
    r.card.reset();
    ++r.events;
    changed();
}

std::shared_ptr<JpkiCard> SimReaders::card(int reader) {
    std::lock_guard<std::mutex> lock(mutex_);
    return readers_.at(static_cast<std::size_t>(reader)).card;
}

void SimReaders::clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& r : readers_)
        if (r.card) r.card->pull_out();
    readers_.clear();
    changed();
}

std::vector<ReaderSnapshot> SimReaders::snapshot() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<ReaderSnapshot> out;
    for (const auto& r : readers_) out.push_back({r.name, r.card != nullptr, r.events});
    return out;
}

std::shared_ptr<JpkiCard> SimReaders::card_named(const std::string& reader) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& r : readers_)
        if (r.name == reader) return r.card;
    return nullptr;
}

bool SimReaders::wait(unsigned long& seen, long timeout_ms, const bool& stop) {
    std::unique_lock<std::mutex> lock(mutex_);
    auto ready = [&] { return stop || generation_ != seen; };
    if (timeout_ms < 0) cv_.wait(lock, ready);
    else cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready);
    if (stop) throw CardError(CardErrc::Cancelled, "SimReaderProvider::wait_for_change");
    const bool changed_now = generation_ != seen;
    seen = generation_;
    return changed_now;
}

void SimReaders::raise_and_wake(bool& flag) {
    std::lock_guard<std::mutex> lock(mutex_);  // wait() reads the flag under this mutex
    flag = true;
    cv_.notify_all();
}

unsigned long SimReaders::generation() {
    std::lock_guard<std::mutex> lock(mutex_);
    return generation_;
}

std::unique_ptr<ReaderProvider> make_sim_reader_provider() { return std::make_unique<SimReaderProvider>(); }

}  // namespace jpki::sim
