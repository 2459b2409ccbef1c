//! `ssh -tt` gets a pty of the client's terminal size.
//! An interactive shell driven through tmux: type, read, resize, exit.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[test]
fn exec_with_pty_has_tty_and_size() {
    let srv = Server::start();
    let cmd = srv.ssh_command(&["-tt"], "tty; stty size; echo done-$((40+2))");
    let out = run_in_pty(cmd, 37, 101, CMD_TIMEOUT);
    assert!(!out.timed_out, "{}", srv.context(&out));
    assert_eq!(out.code, Some(0), "{}", srv.context(&out));
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("/dev/pts/") && l["/dev/pts/".len()..].parse::<u32>().is_ok()),
        "no /dev/pts/N line in the terminal output:\n{}",
        srv.context(&out)
    );
    assert!(
        lines.contains(&"37 101"),
        "no `37 101` line in the terminal output:\n{}",
        srv.context(&out)
    );
    assert!(lines.contains(&"done-42"), "{}", srv.context(&out));
}

#[test]
fn exec_with_pty_exit_status() {
    let srv = Server::start();
    let cmd = srv.ssh_command(&["-tt"], "exit 3");
    let out = run_in_pty(cmd, 24, 80, CMD_TIMEOUT);
    assert_eq!(out.code, Some(3), "{}", srv.context(&out));
}

/// A tmux server on its own socket, killed on drop.
struct Tmux {
    sock: PathBuf,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.sock).arg("-f").arg("/dev/null");
        c.env_remove("TMUX");
        c
    }

    fn run(&self, args: &[&str]) -> Out {
        run(self.cmd().args(args), Duration::from_secs(20))
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.code,
            Some(0),
            "tmux {:?} failed:\n{}",
            args,
            out.describe()
        );
        out.stdout
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-J", "-t", "q"]).stdout
    }

    fn alive(&self) -> bool {
        self.run(&["has-session", "-t", "q"]).code == Some(0)
    }

    /// Waits for a line of the pane that equals `want`.
    fn wait_line(&self, srv: &Server, want: &str) {
        let found = wait_until(Duration::from_secs(20), || {
            self.screen().lines().any(|l| l.trim_end() == want)
        });
        assert!(
            found,
            "no line {:?} on the screen:\n{}\n--- server log ---\n{}",
            want,
            self.screen(),
            srv.log()
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = run(self.cmd().arg("kill-server"), Duration::from_secs(10));
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn script_for(cmd: &Command, rc_file: &Path) -> String {
    let mut line = shell_quote(cmd.get_program().to_str().unwrap());
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&shell_quote(a.to_str().unwrap()));
    }
    format!(
        "{}\necho $? > {}\n",
        line,
        shell_quote(rc_file.to_str().unwrap())
    )
}

#[test]
fn interactive_shell_via_tmux() {
    let srv = Server::start();
    let rc_file = srv.dir.join("ssh.rc");
    let script = srv.dir.join("run.sh");
    std::fs::write(
        &script,
        script_for(&srv.ssh_command(&["-tt"], ""), &rc_file),
    )
    .unwrap();

    let tmux = Tmux {
        sock: srv.dir.join("tmux.sock"),
    };
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        "q",
        "-x",
        "100",
        "-y",
        "30",
        &format!("sh {}", script.display()),
    ]);

    tmux.ok(&["send-keys", "-t", "q", "echo hi-$((6*7))", "Enter"]);
    tmux.wait_line(&srv, "hi-42");

    tmux.ok(&[
        "send-keys",
        "-t",
        "q",
        "echo sz-$(stty size | tr ' ' x)",
        "Enter",
    ]);
    tmux.wait_line(&srv, "sz-30x100");

    tmux.ok(&["resize-window", "-t", "q", "-x", "90", "-y", "25"]);
    // The window-change travels asynchronously; ask until the shell sees the new size.
    let mut n = 0;
    let resized = wait_until(Duration::from_secs(20), || {
        n += 1;
        if n % 10 == 1 {
            let _ = tmux.run(&[
                "send-keys",
                "-t",
                "q",
                "echo sz-$(stty size | tr ' ' x)",
                "Enter",
            ]);
        }
        tmux.screen().lines().any(|l| l.trim_end() == "sz-25x90")
    });
    assert!(
        resized,
        "the shell never saw the new size 25x90:\n{}\n--- server log ---\n{}",
        tmux.screen(),
        srv.log()
    );

    tmux.ok(&["send-keys", "-t", "q", "exit", "Enter"]);
    let ended = wait_until(Duration::from_secs(20), || !tmux.alive());
    assert!(
        ended,
        "the session did not end after `exit`:\n{}\n--- server log ---\n{}",
        tmux.screen(),
        srv.log()
    );
    let rc = std::fs::read_to_string(&rc_file).unwrap_or_default();
    assert_eq!(
        rc.trim(),
        "0",
        "ssh exit status after `exit`\n--- server log ---\n{}",
        srv.log()
    );
}
