// jpki-sim: a simulated JPKI card that plugs into the vsmartcard vpcd reader driver, so a real
// pcscd shows it as a card in a reader.
//
// vpcd protocol (card side connects to vpcd's TCP port): each message is a 2-byte big-endian
// length and a payload. A 1-byte payload is a control (0 power off, 1 power on, 2 reset,
// 4 send ATR); anything longer is a command APDU, answered with response data + SW1 SW2.
// Closing the socket is the card leaving the reader.
//
// Signals: SIGUSR1 pulls the card out (closes the socket), SIGUSR2 inserts it again, SIGHUP
// turns it into the --swap-pki card (and back) without leaving the reader (from the next message on: a
// swap PC/SC saw only as a reset), SIGTERM/SIGINT end the program.
#include "test/sim/card_variants.h"
#include "test/sim/jpki_card.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

using jpki::Bytes;
using jpki::sim::CardConfig;
using jpki::sim::Fault;
using jpki::sim::JpkiCard;

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_pull{false};
std::atomic<bool> g_insert{false};
std::atomic<bool> g_swap{false};
std::unique_ptr<CardConfig> g_swap_config;  // the other card; swapped with the card's at SIGHUP

void on_signal(int sig) {
    if (sig == SIGUSR1) g_pull = true;
    else if (sig == SIGUSR2) g_insert = true;
    else if (sig == SIGHUP) g_swap = true;
    else g_stop = true;
}

void usage() {
    std::fprintf(stderr,
                 "usage: jpki-sim --pki DIR [options]\n"
                 "  --host ADDR            vpcd address (default 127.0.0.1)\n"
                 "  --port N               vpcd port (default 35963)\n"
                 "  --pki DIR              card keys and certificates (gen-test-pki.sh card dir)\n"
                 "  --serial S             EF 0006 serial (default: DIR/serial.txt, else JPKISIM000000001)\n"
                 "  --swap-pki DIR         the card SIGHUP turns this one into (serial from DIR/serial.txt)\n"
                 "  --token-label L        EF 0006 label (default JPKIAPICCTOKEN2)\n"
                 "  --auth-pin P           (default 1234)\n"
                 "  --sign-pin P           (default SIGN1234)\n"
                 "  --no-sign-cert         a card issued under 15: no signature certificate/key\n"
                 "  --no-sfi               refuse the short-EF forms of VERIFY and sign (6A86)\n"
                 "  --no-pss               refuse sign P1=04/05 (6A86)\n"
                 "  --security-before-p1   sign: 6982 while no PIN is verified, before looking at P1\n"
                 "  --pss-salt N           PSS salt length (default 32)\n"
                 "  --blocked-sw HEX       VERIFY answer on a blocked PIN (default 6984)\n"
                 "  --t0                   answer data with 61xx + GET RESPONSE\n"
                 "  --other-ap-clears      selecting another AP clears the JPKI security status\n"
                 "  --warm-reset-keeps-status  a warm reset does not clear verified PINs (only power-off)\n"
                 "  --state FILE           keep the PIN counters in FILE across runs\n"
                 "  --latency-ms N         delay before every answer\n"
                 "  --sign-latency-ms N    extra delay for a signature\n"
                 "  --log FILE             one line per APDU (PIN data redacted)\n"
                 "  --fault KIND@N         the Nth APDU meets KIND: garbage, truncated, mute, removed, reset\n"
                 "  --auth-tries N / --sign-tries N   start with N tries left\n"
                 "  --fault KIND@N         also 6f00 (answer 6F00); removed-after-verify (no @N: the card\n"
                 "                         leaves at the first command after a VERIFY with a PIN)\n"
                 "  --variant NAME         a card that differs from the documents (repeatable):\n");
    for (const auto& v : jpki::sim::card_variants()) std::fprintf(stderr, "      %-22s %s\n", v.name, v.what);
}

Fault parse_fault(const std::string& kind) {
    if (kind == "garbage") return Fault::Garbage;
    if (kind == "truncated") return Fault::Truncated;
    if (kind == "mute") return Fault::Mute;
    if (kind == "removed") return Fault::Removed;
    if (kind == "reset") return Fault::ResetBefore;
    if (kind == "6f00") return Fault::Sw6F00;
    if (kind == "removed-after-verify") return Fault::RemovedAfterVerify;
    throw std::invalid_argument("unknown fault " + kind);
}

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
    while (n) {
        ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

// Reads exactly n bytes; false on EOF, error, or a stop/pull request.
bool read_all(int fd, std::uint8_t* p, std::size_t n) {
    while (n) {
        pollfd pfd{fd, POLLIN, 0};
        int pr = ::poll(&pfd, 1, 200);
        if (g_stop || g_pull) return false;
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);  // no delayed-ACK stalls
        ssize_t r = ::recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

bool send_message(int fd, const Bytes& payload) {
    Bytes msg;
    msg.push_back(static_cast<std::uint8_t>(payload.size() >> 8));
    msg.push_back(static_cast<std::uint8_t>(payload.size()));
    msg.insert(msg.end(), payload.begin(), payload.end());
    return write_all(fd, msg.data(), msg.size());
}

int connect_vpcd(const std::string& host, int port) {
    // vpcd may not listen yet: retry for up to 10 s.
    for (int attempt = 0; attempt < 100 && !g_stop; ++attempt) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return -1;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
            ::close(fd);
            return -1;
        }
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        ::close(fd);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
}

// Serves one insertion of the card; returns when the socket closes or the card is pulled.
void serve(int fd, JpkiCard& card) {
    for (;;) {
        std::uint8_t len_bytes[2];
        if (!read_all(fd, len_bytes, 2)) return;
        const std::size_t len = static_cast<std::size_t>(len_bytes[0] << 8 | len_bytes[1]);
        Bytes payload(len);
        if (len && !read_all(fd, payload.data(), len)) return;
        if (g_swap.exchange(false) && g_swap_config) {
            CardConfig next = *g_swap_config;
            *g_swap_config = card.config();
            card.become(std::move(next));
        }
        if (len == 1) {
            switch (payload[0]) {
            case 0: card.power_off(); break;
            case 1: card.power_on(); break;
            case 2: card.reset(); break;
            case 4:
                if (!send_message(fd, JpkiCard::atr())) return;
                break;
            default: break;
            }
            continue;
        }
        Bytes answer = card.process(payload);
        if (card.removed()) return;  // pulled out mid-command: no answer at all
        if (!send_message(fd, answer)) return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    CardConfig config;
    std::string host = "127.0.0.1", log_path, fault_spec;
    int port = 35963, auth_tries = -1, sign_tries = -1;
    bool serial_given = false;
    std::string swap_pki;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            auto next = [&]() -> std::string {
                if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
                return argv[++i];
            };
            if (a == "--host") host = next();
            else if (a == "--port") port = std::stoi(next());
            else if (a == "--pki") config.pki_dir = next();
            else if (a == "--swap-pki") swap_pki = next();
            else if (a == "--serial") { config.serial = next(); serial_given = true; }
            else if (a == "--token-label") config.token_label = next();
            else if (a == "--auth-pin") config.auth_pin = next();
            else if (a == "--sign-pin") config.sign_pin = next();
            else if (a == "--no-sign-cert") config.has_sign_cert = false;
            else if (a == "--no-sfi") config.sfi_verify = config.sfi_sign = false;
            else if (a == "--no-pss") config.pss = false;
            else if (a == "--security-before-p1") config.security_before_p1 = true;
            else if (a == "--pss-salt") config.pss_salt_length = std::stoi(next());
            else if (a == "--blocked-sw") config.blocked_verify_sw = static_cast<std::uint16_t>(std::stoul(next(), nullptr, 16));
            else if (a == "--t0") config.t0_get_response = true;
            else if (a == "--other-ap-clears") config.other_ap_clears_status = true;
            else if (a == "--warm-reset-keeps-status") config.warm_reset_keeps_status = true;
            else if (a == "--state") config.state_file = next();
            else if (a == "--latency-ms") config.apdu_latency_ms = std::stoi(next());
            else if (a == "--sign-latency-ms") config.sign_latency_ms = std::stoi(next());
            else if (a == "--log") log_path = next();
            else if (a == "--fault") fault_spec = next();
            else if (a == "--auth-tries") auth_tries = std::stoi(next());
            else if (a == "--sign-tries") sign_tries = std::stoi(next());
            else if (a == "--variant") {
                const std::string name = next();
                if (!jpki::sim::apply_card_variant(config, name)) throw std::invalid_argument("unknown variant " + name);
            }
            else if (a == "--help" || a == "-h") { usage(); return 0; }
            else throw std::invalid_argument("unknown option " + a);
        }
        if (config.pki_dir.empty()) throw std::invalid_argument("--pki is required");
        if (!serial_given) {
            std::ifstream s(config.pki_dir + "/serial.txt");
            std::string line;
            if (s && std::getline(s, line) && !line.empty()) config.serial = line;
        }
        if (!swap_pki.empty()) {
            g_swap_config = std::make_unique<CardConfig>(config);
            g_swap_config->pki_dir = swap_pki;
            g_swap_config->state_file.clear();
            std::ifstream s(swap_pki + "/serial.txt");
            std::string line;
            g_swap_config->serial = s && std::getline(s, line) && !line.empty() ? line : "JPKISIMSWAPPED01";
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "jpki-sim: %s\n", e.what());
        usage();
        return 2;
    }

    std::signal(SIGPIPE, SIG_IGN);
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGUSR1, &sa, nullptr);
    sigaction(SIGUSR2, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);

    std::unique_ptr<JpkiCard> card;
    try {
        card = std::make_unique<JpkiCard>(config);
        if (auth_tries >= 0) card->set_tries_left(false, auth_tries);
        if (sign_tries >= 0) card->set_tries_left(true, sign_tries);
        if (!fault_spec.empty()) {
            const auto at = fault_spec.find('@');
            card->inject_fault(parse_fault(fault_spec.substr(0, at)),
                               at == std::string::npos ? 1 : std::stoi(fault_spec.substr(at + 1)));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "jpki-sim: %s\n", e.what());
        return 2;
    }
    FILE* log = nullptr;
    if (!log_path.empty()) {
        log = std::fopen(log_path.c_str(), "a");
        if (!log) {
            std::fprintf(stderr, "jpki-sim: cannot open %s\n", log_path.c_str());
            return 2;
        }
        card->on_log = [log](const jpki::sim::LoggedApdu& e) {
            std::fprintf(log, "%s\n", e.text().c_str());
            std::fflush(log);
        };
    }

    bool inserted = true;
    while (!g_stop) {
        if (!inserted) {
            if (g_insert.exchange(false)) {
                inserted = true;
                card->insert();
            } else {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                continue;
            }
        }
        const int fd = connect_vpcd(host, port);
        if (fd < 0) {
            std::fprintf(stderr, "jpki-sim: cannot connect to vpcd at %s:%d\n", host.c_str(), port);
            return 1;
        }
        serve(fd, *card);
        ::close(fd);
        card->power_off();
        if (g_pull.exchange(false) || card->removed()) {
            inserted = false;  // out of the reader until SIGUSR2
            if (log) { std::fprintf(log, "# card removed\n"); std::fflush(log); }
        } else if (!g_stop) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));  // vpcd went away: retry
        }
    }
    if (log) std::fclose(log);
    return 0;
}
