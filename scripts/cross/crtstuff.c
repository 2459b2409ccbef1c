/*
 * quoll's crtbegin.o / crtend.o for static musl links (scripts/build-target, docs/cross.md).
 *
 * rustc's musl targets link crtbegin.o/crtend.o around the program. gcc's copies would do,
 * but Debian's MIPS gcc builds them hard-float, and quoll's MIPS builds are soft-float
 * throughout. Nothing else from them is needed: musl and Rust run constructors from
 * .init_array, and libunwind finds unwind tables through PT_GNU_EH_FRAME, not through
 * frame registration. So this file provides just the two symbols.
 *
 * Compile once with -DQUOLL_CRTBEGIN and once with -DQUOLL_CRTEND, with
 * -fno-asynchronous-unwind-tables so the compiler emits no .eh_frame of its own here.
 */
#if defined(QUOLL_CRTBEGIN)
/* The handle __cxa_atexit-style registrations pass; 0 in a static executable. */
void *__dso_handle __attribute__((visibility("hidden"))) = 0;
#elif defined(QUOLL_CRTEND)
/* A zero length word ends .eh_frame for readers that walk it without the header table. */
static const unsigned int quoll_eh_frame_end[1]
    __attribute__((section(".eh_frame"), aligned(4), used)) = {0};
#else
#error "define QUOLL_CRTBEGIN or QUOLL_CRTEND"
#endif
