"""A real SMTP server for the tests (aiosmtpd): stores each delivered message as a file.

Usage: python3 sink.py PORT DIR. Prints "listening PORT" once it accepts connections, then
serves until killed. Each message lands in DIR as NNNNN.eml (written whole, then renamed).
"""
import os
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            path = os.path.join(self.directory, f"{self.count:05d}.eml")
        recipients = ", ".join(envelope.rcpt_tos)
        with open(path + ".tmp", "wb") as f:
            f.write(f"X-Envelope-To: {recipients}\r\n".encode())
            f.write(envelope.content)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"listening {port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
