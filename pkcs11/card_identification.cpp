#include "pkcs11/card_identification.h"

#include "card/card_error.h"
#include "common/trace.h"

#include <pthread.h>

#include <atomic>
#include <thread>
#include <vector>

namespace jpki::p11 {

namespace {

// The identification threads, joined by C_Finalize (a thread that has fully left cannot be
// caught by dlclose()). Guarded by g_workers_mutex. A forked child forgets the parent's
// (they do not exist there) without touching them.
struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
};
std::mutex g_workers_mutex;
std::condition_variable g_worker_finished;
std::vector<Worker>* g_workers = new std::vector<Worker>;  // NOLINT: leaked in a forked child

void before_fork() { g_workers_mutex.lock(); }
void after_fork_parent() { g_workers_mutex.unlock(); }
void after_fork_child() {
    g_workers = new std::vector<Worker>;  // the parent's threads: not ours to join
    g_workers_mutex.unlock();
}

// Joins the workers that are done; the caller holds g_workers_mutex.
void reap_finished(std::vector<Worker>& workers) {
    for (auto it = workers.begin(); it != workers.end();) {
        if (it->finished->load()) {
            it->thread.join();
            it = workers.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace

bool wait_for_identifications(std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> lock(g_workers_mutex);
    const bool all = g_worker_finished.wait_for(lock, bound, [] {
        for (const Worker& w : *g_workers)
            if (!w.finished->load()) return false;
        return true;
    });
    reap_finished(*g_workers);
    return all;
}

void Identification::begin(const std::shared_ptr<Identification>& id, std::shared_ptr<ReaderProvider> provider,
                           std::string reader, unsigned long card_events, MutexMaker mutexes, Threads threads) {
    static std::once_flag atfork_once;
    std::call_once(atfork_once, [] { pthread_atfork(before_fork, after_fork_parent, after_fork_child); });
    if (threads == Threads::NotAllowed) {
        id->run(*provider, reader, card_events, mutexes);
        return;
    }
    auto finished = std::make_shared<std::atomic<bool>>(false);
    std::unique_lock<std::mutex> lock(g_workers_mutex);
    reap_finished(*g_workers);
    try {
        std::thread t([self = id, provider, reader, card_events, mutexes, finished]() mutable {
            self->run(*provider, reader, card_events, mutexes);
            self.reset();
            provider.reset();
            {
                std::lock_guard<std::mutex> done(g_workers_mutex);
                finished->store(true);
            }
            g_worker_finished.notify_all();
        });
        g_workers->push_back({std::move(t), std::move(finished)});
    } catch (const std::system_error&) {  // no thread to be had: identify here
        lock.unlock();
        id->run(*provider, reader, card_events, mutexes);
    }
}

void Identification::run(ReaderProvider& provider, const std::string& reader, unsigned long card_events,
                         const MutexMaker& mutexes) noexcept {
    Result r;
    try {
        r.card = std::make_shared<CardState>(provider.connect(reader), card_events, mutexes);
    } catch (const CardError& e) {
        r.transient = e.code() != CardErrc::NotJpki && e.code() != CardErrc::MalformedResponse;
        try {
            trace_line("reader '" + reader + "': " + (r.transient ? "card not identified yet: " : "no usable JPKI card: ") +
                       e.what());
        } catch (...) {
        }
    } catch (const std::exception& e) {
        try {
            trace_line("reader '" + reader + "': no usable JPKI card: " + e.what());
        } catch (...) {
        }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    result_ = std::move(r);
    done_ = true;
    finished_.notify_all();
}

bool Identification::wait_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return finished_.wait_until(lock, deadline, [&] { return done_; });
}

bool Identification::done() {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_;
}

Identification::Result Identification::take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(result_);
}

}  // namespace jpki::p11
