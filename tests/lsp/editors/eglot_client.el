;;; eglot_client.el --- drive Emacs's eglot against `tapkit lsp', in batch mode  -*- lexical-binding: t -*-
;; Open a script, wait for its diagnostics (through flymake), ask for document symbols and
;; completion, write what came back as JSON, shut the server down.
;; Environment: TAPKIT_CMD (server command, tab-separated), TAPKIT_ROOT, TAPKIT_SCRIPT,
;; TAPKIT_SETTINGS (JSON), TAPKIT_COMPLETE (JSON list of [line, character], 0-based), TAPKIT_OUT.
(require 'eglot)
(require 'json)

;; Debian's systemtap-common ships a systemtap-mode; a bare one does as well when it is missing.
(unless (require 'systemtap-mode nil t)
  (define-derived-mode systemtap-mode prog-mode "SystemTap"))

(defun tapkit-test--labels (response)
  (let ((items (if (vectorp response) response (plist-get response :items))))
    (mapcar (lambda (item) (plist-get item :label)) items)))

(let* ((cmd (split-string (getenv "TAPKIT_CMD") "\t"))
       (settings (json-parse-string (getenv "TAPKIT_SETTINGS") :object-type 'plist :array-type 'array))
       (root (file-name-as-directory (getenv "TAPKIT_ROOT")))
       (result (list :errors nil))
       (errors nil))
  (condition-case err
      (progn
        (setq eglot-workspace-configuration (list (cons :tapkit settings)))
        (find-file (getenv "TAPKIT_SCRIPT"))
        (systemtap-mode)
        (let ((default-directory root))
          (eglot '(systemtap-mode) (cons 'transient root) 'eglot-lsp-server
                 (append cmd (list :initializationOptions settings)) "systemtap"))
        (let ((server (eglot-current-server))
              (waited 0))
          (setq result (plist-put result :managed (and server t)))
          (while (and (null (flymake-diagnostics)) (< waited 600))
            (flymake-start)
            (accept-process-output nil 0.1)
            (setq waited (1+ waited)))
          (setq result (plist-put result :diagnostics
                                  (vconcat (mapcar (lambda (d)
                                                     (list :line (line-number-at-pos (flymake-diagnostic-beg d))
                                                           :message (flymake-diagnostic-text d)))
                                                   (flymake-diagnostics)))))
          (let ((symbols (jsonrpc-request server :textDocument/documentSymbol
                                          (list :textDocument (eglot--TextDocumentIdentifier)))))
            (setq result (plist-put result :symbols
                                    (vconcat (mapcar (lambda (s) (plist-get s :name)) symbols)))))
          (setq result
                (plist-put result :completions
                           (vconcat
                            (mapcar (lambda (p)
                                      (vconcat (tapkit-test--labels
                                                (jsonrpc-request server :textDocument/completion
                                                                 (list :textDocument (eglot--TextDocumentIdentifier)
                                                                       :position (list :line (aref p 0)
                                                                                       :character (aref p 1)))))))
                                    (json-parse-string (getenv "TAPKIT_COMPLETE") :array-type 'array)))))
          (eglot-shutdown server)
          (setq result (plist-put result :shutdown (not (jsonrpc-running-p server))))))
    (error (push (format "%S" err) errors)))
  (setq result (plist-put result :errors (vconcat errors)))
  (with-temp-file (getenv "TAPKIT_OUT")
    (insert (json-encode result)))
  (kill-emacs 0))
