// ReaderProvider over pcsc-lite: one context for listing and connecting, and a ReaderMonitor
// with a context of its own for the blocking wait, so SCardCancel hits exactly that wait.
#include "card/card_error.h"
#include "pcsc/pcsc_transport.h"
#include "pcsc/reader_monitor.h"
#include "card/reader_provider.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

namespace jpki {

namespace {

// A PcscTransport that owns the context it was made from, so its lifetime is its own.
class OwningPcscTransport : public Transport {
public:
    explicit OwningPcscTransport(const std::string& reader)
        : context_(std::make_unique<PcscContext>()), transport_(*context_, reader) {}
    ~OwningPcscTransport() override {
        if (abandoned_) {
            transport_.abandon();
            context_->abandon();
        }
    }
    Bytes transmit(const std::uint8_t* c, std::size_t n) override { return transport_.transmit(c, n); }
    void begin_transaction() override { transport_.begin_transaction(); }
    void end_transaction() noexcept override { transport_.end_transaction(); }
    void reset_card() override { transport_.reset_card(); }
    void unpower_card() override { transport_.unpower_card(); }
    bool take_reset_flag() noexcept override { return transport_.take_reset_flag(); }
    Bytes atr() const override { return transport_.atr(); }
    void abandon() noexcept { abandoned_ = true; }

private:
    std::unique_ptr<PcscContext> context_;
    PcscTransport transport_;
    bool abandoned_ = false;
};

class PcscReaderProvider : public ReaderProvider {
public:
    // The waiter starts watching now, so no event between this and the first wait is lost.
    explicit PcscReaderProvider(const MutexMaker& mutexes) : mutex_(mutexes()), wait_mutex_(mutexes()) {
        try {
            waiter_ = std::make_unique<ReaderMonitor>();
            waiter_->refresh();
        } catch (const CardError&) {
            waiter_.reset();  // no pcscd yet: made on first wait
        }
    }

    std::vector<ReaderSnapshot> readers() override {
        if (cancelled_) throw CardError(CardErrc::Cancelled, "reader provider");
        std::lock_guard<Mutex> lock(*mutex_);
        if (!lister_) lister_ = std::make_unique<ReaderMonitor>();
        try {
            lister_->refresh();
        } catch (const CardError& e) {
            if (e.code() != CardErrc::NoReader) {
                // pcscd restarted or gone (or the context broke): a new context next time, and
                // the connections made on the old service are void.
                lister_.reset();
                ++epoch_;
            }
            throw;
        }
        std::vector<ReaderSnapshot> out;
        for (const auto& r : lister_->readers()) out.push_back({r.name, r.card_present, r.event_count});
        return out;
    }

    unsigned long service_epoch() const override { return epoch_; }

    std::unique_ptr<Transport> connect(const std::string& reader) override {
        return std::make_unique<OwningPcscTransport>(reader);
    }

    bool wait_for_change(long timeout_ms) override {
        // One waiter at a time: two blocking calls on one PC/SC context freeze pcsc-lite's
        // client library for the whole process. Others wait here, and see `cancelled_` after.
        std::lock_guard<Mutex> serial(*wait_mutex_);
        // The wait runs in slices: SCardCancel only reaches a call already blocked, so a
        // cancel() just before the wait starts is seen at the next slice at the latest.
        constexpr long kSliceMs = 500;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
        for (;;) {
            if (cancelled_) throw CardError(CardErrc::Cancelled, "reader provider");
            ReaderMonitor* waiter;
            {
                std::lock_guard<Mutex> lock(*mutex_);
                if (!waiter_) {
                    waiter_ = std::make_unique<ReaderMonitor>();
                    waiter_->refresh();
                }
                waiter = waiter_.get();  // never freed before this provider: cancel() may use it
            }
            long slice = kSliceMs;
            if (timeout_ms >= 0) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
                if (left <= 0) return false;
                slice = std::min<long>(slice, static_cast<long>(left));
            }
            try {
                if (waiter->wait_for_change(slice)) return true;
            } catch (const CardError& e) {
                if (e.code() == CardErrc::Cancelled) throw;
                // pcscd gone or restarted: the next wait starts on a new context.
                std::lock_guard<Mutex> lock(*mutex_);
                stale_waiters_.push_back(std::move(waiter_));
                throw;
            }
        }
    }

    void cancel() noexcept override {
        cancelled_ = true;
        std::lock_guard<Mutex> lock(*mutex_);
        if (waiter_) waiter_->cancel();
    }

    // In a forked child: no locks (a parent thread may have held one at the fork), nothing
    // released; the handles are the parent's.
    void abandon() noexcept override {
        if (lister_) lister_.release()->abandon();  // leaked on purpose: the parent owns it
        if (waiter_) waiter_.release()->abandon();
        for (auto& w : stale_waiters_) w.release()->abandon();
    }

private:
    std::unique_ptr<Mutex> mutex_;       // guards lister_, waiter_, stale_waiters_; a leaf lock
    std::unique_ptr<Mutex> wait_mutex_;  // one blocking wait at a time; held across it
    std::unique_ptr<ReaderMonitor> lister_;
    std::unique_ptr<ReaderMonitor> waiter_;
    // Waiters whose context went stale: kept (not freed) because another thread might still
    // be inside one of them; released with the provider.
    std::vector<std::unique_ptr<ReaderMonitor>> stale_waiters_;
    std::atomic<bool> cancelled_{false};
    std::atomic<unsigned long> epoch_{0};
};

}  // namespace

std::unique_ptr<ReaderProvider> make_reader_provider(const MutexMaker& mutexes) {
    return std::make_unique<PcscReaderProvider>(mutexes);
}

}  // namespace jpki
