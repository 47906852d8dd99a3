# The guest side of QEMU's guestfwd (cmd:python3 relay.py HOST PORT): one process per guest connection, its
# stdin/stdout copied to HOST:PORT and back. It never writes to stderr: QEMU mixes that into the connection.
# (The tests' copy is tests/Circular.Testing/QemuGuest.cs, GuestForward.)
import os, socket, sys, threading
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def up():
    try:
        while (b := os.read(0, 65536)):
            s.sendall(b)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
threading.Thread(target=up, daemon=True).start()
try:
    while (b := s.recv(65536)):
        os.write(1, b)
except OSError:
    pass
