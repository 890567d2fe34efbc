/*
 * The escape suite's probe: one attack per subcommand, run from inside a sandbox.
 *
 * Each attack prints one line: "ok" when the operation succeeded (the attack worked) or
 * "err NAME" with the errno it failed with. Probes of dangerous system calls pass an invalid
 * descriptor or pointer, so a call that reaches the kernel fails there (EBADF, EFAULT,
 * EINVAL) and does no harm; a seccomp filter answers EPERM before that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int report(long result) {
    if (result < 0) {
        int saved = errno;
        const char *name = strerrorname_np(saved);
        printf("err %s\n", name ? name : "UNKNOWN");
    } else {
        printf("ok\n");
    }
    return 0;
}

static long raw(long number, long a, long b, long c, long d, long e, long f) {
    return syscall(number, a, b, c, d, e, f);
}

/* A dangerous system call with harmless arguments, by name. */
static int call(const char *name) {
    struct { const char *name; long number; long args[6]; } calls[] = {
        {"init_module", SYS_init_module, {0, 0, 0}},
        {"finit_module", SYS_finit_module, {-1, 0, 0}},
        {"delete_module", SYS_delete_module, {0, 0}},
        {"kexec_load", SYS_kexec_load, {0, 0, 0, 0}},
        {"kexec_file_load", SYS_kexec_file_load, {-1, -1, 0, 0, 0}},
        {"reboot", SYS_reboot, {0, 0, 0, 0}},
        {"bpf", SYS_bpf, {-1, 0, 0}},
        {"perf_event_open", SYS_perf_event_open, {0, 0, -1, -1, 0}},
        {"userfaultfd", SYS_userfaultfd, {0x7fffffff}},
        {"keyctl", SYS_keyctl, {-1, 0, 0, 0, 0}},
        {"add_key", SYS_add_key, {0, 0, 0, 0, 0}},
        {"request_key", SYS_request_key, {0, 0, 0, 0}},
        {"io_uring_setup", SYS_io_uring_setup, {0, 0}},
        {"io_uring_enter", SYS_io_uring_enter, {-1, 0, 0, 0, 0, 0}},
        {"io_uring_register", SYS_io_uring_register, {-1, 0, 0, 0}},
        {"clock_settime", SYS_clock_settime, {CLOCK_REALTIME, 0}},
        {"settimeofday", SYS_settimeofday, {0, 0}},
        {"adjtimex", SYS_adjtimex, {0}},
        {"swapon", SYS_swapon, {0, 0}},
        {"quotactl", SYS_quotactl, {0, 0, 0, 0}},
        {"mount", SYS_mount, {0, 0, 0, 0, 0}},
        {"umount2", SYS_umount2, {0, 0}},
        {"pivot_root", SYS_pivot_root, {0, 0}},
        {"fsopen", SYS_fsopen, {0, 0}},
        {"fsmount", SYS_fsmount, {-1, 0, 0}},
        {"fspick", SYS_fspick, {-1, 0, 0}},
        {"open_tree", SYS_open_tree, {-1, 0, 0}},
        {"move_mount", SYS_move_mount, {-1, 0, -1, 0, 0}},
        {"mount_setattr", SYS_mount_setattr, {-1, 0, 0, 0, 0}},
        {"setns", SYS_setns, {-1, 0}},
        {"open_by_handle_at", SYS_open_by_handle_at, {-1, 0, 0}},
        {"personality", SYS_personality, {0x0040000}},
        {"iopl", SYS_iopl, {0}},
        {"syslog", SYS_syslog, {-1, 0, 0}},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        if (strcmp(calls[i].name, name) == 0) {
            long *a = calls[i].args;
            return report(raw(calls[i].number, a[0], a[1], a[2], a[3], a[4], a[5]));
        }
    }
    fprintf(stderr, "probe: unknown call %s\n", name);
    return 2;
}

static int new_user_namespace(const char *how) {
    if (strcmp(how, "unshare") == 0)
        return report(unshare(CLONE_NEWUSER));
    long pid;
    if (strcmp(how, "clone") == 0) {
        pid = raw(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0, 0);
    } else {
        struct clone_args args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
        pid = raw(SYS_clone3, (long)&args, sizeof args, 0, 0, 0, 0);
    }
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return report(pid);
}

static long int80_getpid(void) {
    long result;
    /* getpid is 20 in the i386 table. */
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(20) : "memory");
    if (result < 0 && result > -4096) {
        errno = -result;
        return -1;
    }
    return result;
}

static int connect_unix(const char *name, int abstract) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return report(-1);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    size_t length = strlen(name);
    if (length + 1 >= sizeof address.sun_path) {
        errno = ENAMETOOLONG;
        return report(-1);
    }
    memcpy(address.sun_path + (abstract ? 1 : 0), name, length);
    socklen_t size = offsetof(struct sockaddr_un, sun_path) + length + (abstract ? 1 : 0);
    return report(connect(fd, (struct sockaddr *)&address, size));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: probe ATTACK [ARG...]\n");
        return 2;
    }
    const char *attack = argv[1];
    const char *arg = argc > 2 ? argv[2] : "";
    setvbuf(stdout, NULL, _IONBF, 0);

    if (strcmp(attack, "call") == 0)
        return call(arg);
    if (strcmp(attack, "userns") == 0)
        return new_user_namespace(arg);
    if (strcmp(attack, "tiocsti") == 0) {
        unsigned long request = TIOCSTI | (strcmp(arg, "high") == 0 ? 1UL << 32 : 0);
        char c = 'Z';
        return report(raw(SYS_ioctl, 0, request, (long)&c, 0, 0, 0));
    }
    if (strcmp(attack, "tioclinux") == 0) {
        unsigned long request = TIOCLINUX | (strcmp(arg, "high") == 0 ? 1UL << 32 : 0);
        return report(raw(SYS_ioctl, 0, request, 0, 0, 0, 0));
    }
    if (strcmp(attack, "fd") == 0) {
        struct stat st;
        return report(fstat(atoi(arg), &st));
    }
    if (strcmp(attack, "open-write") == 0)
        return report(open(arg, O_WRONLY));
    if (strcmp(attack, "open-read") == 0) {
        int fd = open(arg, O_RDONLY);
        if (fd < 0)
            return report(-1);
        char buffer[64];
        return report(read(fd, buffer, sizeof buffer));
    }
    if (strcmp(attack, "openat-fd") == 0) {
        /* openat relative to an inherited directory descriptor: probe openat-fd FD NAME */
        int fd = openat(atoi(arg), argc > 3 ? argv[3] : ".", O_RDONLY);
        return report(fd);
    }
    if (strcmp(attack, "ptrace") == 0) {
        long result = ptrace(PTRACE_ATTACH, atoi(arg), 0, 0);
        if (result == 0)
            ptrace(PTRACE_DETACH, atoi(arg), 0, 0);
        return report(result);
    }
    if (strcmp(attack, "vm-read") == 0) {
        char local[8];
        struct iovec mine = {local, sizeof local};
        struct iovec theirs = {(void *)0x1000, sizeof local};
        return report(process_vm_readv(atoi(arg), &mine, 1, &theirs, 1, 0));
    }
    if (strcmp(attack, "pidfd-getfd") == 0) {
        long pidfd = raw(SYS_pidfd_open, atoi(arg), 0, 0, 0, 0, 0);
        if (pidfd < 0)
            return report(-1);
        return report(raw(SYS_pidfd_getfd, pidfd, 0, 0, 0, 0, 0));
    }
    if (strcmp(attack, "kill") == 0)
        return report(kill(atoi(arg), 0));
    if (strcmp(attack, "x32") == 0)
        return report(raw(0x40000000 | SYS_getpid, 0, 0, 0, 0, 0, 0));
    if (strcmp(attack, "int80") == 0)
        return report(int80_getpid());
    if (strcmp(attack, "connect-abstract") == 0)
        return connect_unix(arg, 1);
    if (strcmp(attack, "connect") == 0)
        return connect_unix(arg, 0);
    if (strcmp(attack, "mount-tmpfs") == 0)
        return report(mount("none", arg, "tmpfs", 0, NULL));
    if (strcmp(attack, "mount-proc") == 0)
        return report(mount("proc", arg, "proc", 0, NULL));
    fprintf(stderr, "probe: unknown attack %s\n", attack);
    return 2;
}
