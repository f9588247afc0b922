/* tests/unit/test_cuda.c: the cuda room: the device query never crashes and
 * is self-consistent with or without a GPU; the self-test kernel matches the
 * CPU when a device is present, and is skipped cleanly when not. */
#include <criterion/criterion.h>
#include <string.h>

#include "circa/cuda.h"

#define MAXDEV 64

Test(cuda, compiled_is_boolean)
{
    int c = circa_cuda_compiled();
    cr_assert(c == 0 || c == 1);
    int a = circa_cuda_available();
    cr_assert(a == 0 || a == 1);
    if (!c)
        cr_assert_eq(a, 0, "available without CUDA support");
}

Test(cuda, device_query_consistent)
{
    circa_cuda_device devs[MAXDEV];
    memset(devs, 0xAB, sizeof devs);
    int count = -1;
    const char *why = "unset";
    circa_status st = circa_cuda_devices(devs, MAXDEV, &count, &why);
    cr_assert_eq(st, CIRCA_OK, "status %d", (int)st);
    cr_assert(count >= 0 && count <= MAXDEV, "count %d", count);
    if (count == 0) {
        cr_assert_not_null(why, "no devices but no reason");
        cr_assert_gt(strlen(why), 0);
        cr_assert_eq(circa_cuda_available(), 0);
        if (!circa_cuda_compiled())
            cr_assert_str_eq(why, "built without CUDA");
        cr_log_info("no CUDA device: %s", why);
    } else {
        cr_assert_null(why, "devices but a reason: %s", why);
        cr_assert_eq(circa_cuda_available(), 1);
        cr_assert_eq(circa_cuda_compiled(), 1);
        for (int i = 0; i < count; i++) {
            cr_assert_eq(devs[i].index, i);
            cr_assert_not_null(memchr(devs[i].name, '\0', sizeof devs[i].name));
            cr_assert_gt(strlen(devs[i].name), 0);
            cr_assert_gt(devs[i].total_mem, 0);
            cr_assert_geq(devs[i].cc_major, 1);
            cr_assert_geq(devs[i].cc_minor, 0);
            cr_assert_gt(devs[i].multiprocessors, 0);
            cr_log_info("device %d: %s, cc %d.%d, %d SMs, %zu MiB", i, devs[i].name,
                        devs[i].cc_major, devs[i].cc_minor, devs[i].multiprocessors,
                        devs[i].total_mem >> 20);
        }
    }
}

Test(cuda, device_query_count_only)
{
    int total = -1, listed = -1;
    const char *why = NULL;
    cr_assert_eq(circa_cuda_devices(NULL, 0, &total, &why), CIRCA_OK);
    circa_cuda_device devs[MAXDEV];
    cr_assert_eq(circa_cuda_devices(devs, MAXDEV, &listed, NULL), CIRCA_OK);
    cr_assert_eq(listed, total > MAXDEV ? MAXDEV : total);
    /* a one-entry array holds at most one device */
    int one = -1;
    cr_assert_eq(circa_cuda_devices(devs, 1, &one, NULL), CIRCA_OK);
    cr_assert_eq(one, total > 0 ? 1 : 0);
}

Test(cuda, device_query_bad_params)
{
    circa_cuda_device d;
    int count = 7;
    cr_assert_eq(circa_cuda_devices(&d, 1, NULL, NULL), CIRCA_E_PARAM);
    cr_assert_eq(circa_cuda_devices(NULL, 1, &count, NULL), CIRCA_E_PARAM);
    cr_assert_eq(count, 0);
    count = 7;
    cr_assert_eq(circa_cuda_devices(&d, -1, &count, NULL), CIRCA_E_PARAM);
    cr_assert_eq(count, 0);
}

Test(cuda, selftest_without_device)
{
    if (circa_cuda_available())
        cr_skip_test("a CUDA device is present");
    circa_status st = circa_cuda_selftest();
    cr_assert_eq(st, circa_cuda_compiled() ? CIRCA_E_DEVICE : CIRCA_E_UNSUPPORTED,
                 "status %d", (int)st);
}

Test(cuda, selftest_kernel)
{
    if (!circa_cuda_available())
        cr_skip_test("no CUDA device");
    cr_assert_eq(circa_cuda_selftest(), CIRCA_OK);
    /* and again: the runtime state is reusable */
    cr_assert_eq(circa_cuda_selftest(), CIRCA_OK);
}
