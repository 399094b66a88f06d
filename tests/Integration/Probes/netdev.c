/* Network-device queries (netdevice(7)) on sockets of every family, AF_UNIX included, as glibc's
 * if_nametoindex/if_indextoname make them; only the loopback device is compared. */
#include "probe.h"
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/socket.h>

static void query(const char *family, int fd)
{
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    CHECK(ioctl(fd, SIOCGIFINDEX, &r));
    SHOW("%s lo index %d", family, r.ifr_ifindex);
    int index = r.ifr_ifindex;
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = index;
    CHECK(ioctl(fd, SIOCGIFNAME, &r));
    SHOW("%s index %d name %s", family, index, r.ifr_name);
    CHECK(ioctl(fd, SIOCGIFFLAGS, &r));
    SHOW("%s lo up %d loopback %d", family, (r.ifr_flags & IFF_UP) != 0, (r.ifr_flags & IFF_LOOPBACK) != 0);
    CHECK(ioctl(fd, SIOCGIFMTU, &r));
    SHOW("%s lo mtu %d", family, r.ifr_mtu);
    strcpy(r.ifr_name, "nosuchdev0");
    CHECK(ioctl(fd, SIOCGIFINDEX, &r));
    struct ifconf c = {.ifc_len = 0, .ifc_buf = NULL};
    CHECK(ioctl(fd, SIOCGIFCONF, &c));
    SHOW("%s ifconf length whole ifreqs %d", family, c.ifc_len > 0 && c.ifc_len % (int)sizeof(struct ifreq) == 0);
    struct ifreq list[32];
    c.ifc_len = sizeof list;
    c.ifc_req = list;
    CHECK(ioctl(fd, SIOCGIFCONF, &c));
    int lo = 0;
    for (int i = 0; i < c.ifc_len / (int)sizeof(struct ifreq); i++)
        if (strcmp(list[i].ifr_name, "lo") == 0) lo = ((struct sockaddr_in *)&list[i].ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    SHOW("%s ifconf lists lo 127.0.0.1 %d", family, lo);
    CHECK(ioctl(fd, TCGETS, &r));
}

int main(void)
{
    query("unix", socket(AF_UNIX, SOCK_DGRAM, 0));
    query("inet", socket(AF_INET, SOCK_DGRAM, 0));
    SHOW("if_nametoindex lo %u", if_nametoindex("lo"));
    char name[IF_NAMESIZE] = "";
    SHOW("if_indextoname 1 %s", if_indextoname(1, name) ? name : "(null)");
    SHOW("if_nametoindex nosuch %u", if_nametoindex("nosuchdev0"));
    return 0;
}
