// The test build of the module (jpki-pkcs11-sim.so) reaches simulated cards in-process, and
// exports jpki_test_sim_readers() so a test that dlopen()s it can insert and pull cards.
#include "test/sim/sim_reader_provider.h"

namespace jpki {

// The simulated readers stand for the card side: their own locks are not the module's.
std::unique_ptr<ReaderProvider> make_reader_provider(const MutexMaker&) { return sim::make_sim_reader_provider(); }

}  // namespace jpki

extern "C" __attribute__((visibility("default"))) jpki::sim::SimReaders* jpki_test_sim_readers() {
    return &jpki::sim::SimReaders::instance();
}
