// An SCARDCONTEXT owned for its whole life.
#pragma once

#include <PCSC/winscard.h>

#include <string>
#include <vector>

namespace jpki {

class PcscContext {
public:
    PcscContext();  // throws CardError(NoService)
    ~PcscContext();
    PcscContext(const PcscContext&) = delete;
    PcscContext& operator=(const PcscContext&) = delete;

    SCARDCONTEXT get() const { return ctx_; }
    // The readers pcscd knows now (empty when there are none).
    std::vector<std::string> readers() const;
    // Forgets the handle without releasing it (used in a forked child, where releasing would
    // break the parent's context).
    void abandon() noexcept { ctx_ = 0; }

private:
    SCARDCONTEXT ctx_ = 0;
};

}  // namespace jpki
