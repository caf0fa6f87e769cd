/* The cached-rule unwinder against libunwind: from the same frame, both
 * must give the same return addresses out to the end of the stack, for
 * RSP-based frames, RBP-based ones (alloca, frame pointers), frames in
 * libc (qsort's callback) and a thread's stack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <alloca.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "unwind.h"

static volatile int sink;

/* Both walks from here; the callers' frames must agree past our own. */
static __attribute__((noinline)) int compare_here(void)
{
    uintptr_t a[64];
    void *b[64];
    int n = dp_unwind(a, 64);
    int m = unw_backtrace(b, 64);
    assert_true(n > 2);
    int k = 0;
    while (k < m && (uintptr_t)b[k] != a[1])
        k++;
    assert_true(k < m);
    assert_int_equal(n - 1, m - k);
    for (int i = 1; i < n; i++)
        assert_true(a[i] == (uintptr_t)b[k + i - 1]);
    return n;
}

static __attribute__((noinline)) int rsp_frames(int depth)
{
    int r = depth ? rsp_frames(depth - 1) : compare_here();
    sink += r;
    return r;
}

static __attribute__((noinline)) int alloca_frames(int depth)
{
    char *buf = alloca(32 + (size_t)depth * 16);
    memset(buf, depth, 32);
    int r = depth ? alloca_frames(depth - 1) : rsp_frames(2);
    sink += buf[3];
    return r;
}

static __attribute__((noinline, optimize("no-omit-frame-pointer"))) int fp_frames(int depth)
{
    int r = depth ? fp_frames(depth - 1) : alloca_frames(3);
    sink += r;
    return r;
}

static int by_callback(const void *x, const void *y)
{
    static int done;
    if (!done) {
        done = 1;
        fp_frames(2);
    }
    return *(const int *)x - *(const int *)y;
}

static void test_shapes(void **state)
{
    (void)state;
    dp_unwind_init();
    assert_true(rsp_frames(5) > 5);
    assert_true(alloca_frames(4) > 8);
    assert_true(fp_frames(3) > 10);
    int v[64];
    for (int i = 0; i < 64; i++)
        v[i] = (i * 37) % 64;
    qsort(v, 64, sizeof *v, by_callback);
}

static void *in_thread(void *arg)
{
    (void)arg;
    fp_frames(2);
    return NULL;
}

static void test_thread(void **state)
{
    (void)state;
    dp_unwind_init();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, in_thread, NULL), 0);
    pthread_join(t, NULL);
}

/* On an alternate signal stack, through the kernel's signal frame: the
 * walk gives up (the sigreturn frame is not one it follows) and libunwind
 * takes over; it must neither crash nor return a wrong stack. */
static int in_handler = -2;

static void on_signal(int sig)
{
    (void)sig;
    uintptr_t a[64];
    in_handler = dp_unwind(a, 64);
}

static void test_signal_stack(void **state)
{
    (void)state;
    dp_unwind_init();
    stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16};
    assert_int_equal(sigaltstack(&ss, NULL), 0);
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_ONSTACK};
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    assert_int_equal(in_handler, -1);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    free(ss.ss_sp);
    /* Back on the thread's stack, the walk works again. */
    assert_true(rsp_frames(2) > 2);
}

/* The second walk reads the rules the first one cached. */
static void test_cached(void **state)
{
    (void)state;
    dp_unwind_init();
    assert_int_equal(rsp_frames(3), rsp_frames(3));
    dp_unwind_flush();
    assert_true(fp_frames(1) > 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_thread),
        cmocka_unit_test(test_cached),
        cmocka_unit_test(test_signal_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
