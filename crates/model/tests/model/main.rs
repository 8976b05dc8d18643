//! Integration tests of the model: serialization round trips (property tests) and forward
//! compatibility of the encoding.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use consilium_model::codec::{from_cbor, to_cbor};
use consilium_model::*;
use proptest::prelude::*;

fn age_band() -> impl Strategy<Value = AgeBand> {
    (0u32..130).prop_map(AgeBand::from_years)
}

fn word<T: Clone + std::fmt::Debug + 'static>(all: Vec<T>) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

fn fields() -> impl Strategy<Value = CaseFields> {
    (
        (
            ".{1,40}",
            proptest::option::of(age_band()),
            proptest::option::of(word(vec![
                Sex::Female,
                Sex::Male,
                Sex::Other,
                Sex::Unspecified,
            ])),
            ".{0,80}",
            ".{0,200}",
            ".{0,80}",
            ".{0,80}",
        ),
        (
            proptest::collection::vec((-3650i32..3650, ".{0,30}"), 0..4),
            ".{0,40}",
            proptest::collection::vec(".{0,20}", 0..4),
            ".{0,80}",
            proptest::option::of(word(vec![
                QuestionKind::Diagnosis,
                QuestionKind::Management,
                QuestionKind::Drug,
                QuestionKind::Procedure,
            ])),
            word(vec![Urgency::Routine, Urgency::Soon, Urgency::Urgent]),
            "[a-z]{0,12}",
            proptest::collection::vec("[a-z0-9-]{1,12}", 0..4),
        ),
    )
        .prop_map(
            |(
                (title, age_band, sex, chief_complaint, history, examination, investigations),
                (
                    timeline,
                    working_diagnosis,
                    differential,
                    question,
                    question_kind,
                    urgency,
                    specialty,
                    tags,
                ),
            )| CaseFields {
                title,
                age_band,
                sex,
                chief_complaint,
                history,
                examination,
                investigations,
                timeline: timeline
                    .into_iter()
                    .map(|(day, event)| TimelineEntry { day, event })
                    .collect(),
                working_diagnosis,
                differential,
                question,
                question_kind,
                urgency,
                specialty,
                tags,
            },
        )
}

fn report() -> impl Strategy<Value = DeidReport> {
    (
        any::<u32>(),
        any::<[bool; 9]>(),
        proptest::option::of(1u8..=8),
        any::<u32>(),
        proptest::collection::vec((0u32..5000, 0u32..5000, 1u32..500, 1u32..500), 0..3),
        proptest::option::of(("[A-Z]{2}", 1u32..50, 0u32..100)),
    )
        .prop_map(
            |(exif_fields, b, orientation_applied, redactions, faces, dicom)| DeidReport {
                source_format: "JPEG".into(),
                exif_fields,
                gps: b[0],
                camera_model: b[1],
                camera_serial: b[2],
                timestamps: b[3],
                embedded_thumbnail: b[4],
                xmp: b[5],
                iptc: b[6],
                icc_profile: b[7],
                maker_note: b[8],
                orientation_applied,
                frames_dropped: b[0] && b[1],
                redactions,
                output_format: "PNG".into(),
                proposals: faces
                    .into_iter()
                    .map(|(x, y, w, h)| Proposal {
                        kind: ProposalKind::Face,
                        x,
                        y,
                        w,
                        h,
                    })
                    .collect(),
                proposals_accepted: redactions % 3,
                proposals_dismissed: exif_fields % 2,
                dicom: dicom.map(|(modality, frames, dropped)| DicomReport {
                    modality: Some(modality),
                    body_part: b[2].then(|| "CHEST".to_string()),
                    frames,
                    frame: frames - 1,
                    attributes_dropped: dropped,
                    identifying_dropped: vec!["patient name".into()],
                    burned_in_risk: b[3].then_some(BurnedInRisk::Ultrasound),
                }),
                reviewed: b[4],
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<[u8; 16]>(),
        fields(),
        word(vec![Status::Open, Status::Resolved]),
        proptest::option::of(".{0,40}"),
        1u32..100,
        any::<i64>(),
        proptest::collection::vec(
            (any::<[u8; 16]>(), report(), 1u32..10_000, 1u32..10_000),
            0..3,
        ),
        proptest::collection::vec((any::<[u8; 16]>(), ".{0,60}", any::<bool>()), 0..3),
    )
        .prop_map(
            |(id, fields, status, outcome, revision, t, atts, comments)| Case {
                id: CaseId::from_bytes(id),
                fields,
                status,
                outcome,
                revision,
                created_at: Timestamp(t),
                updated_at: Timestamp(t),
                attachments: atts
                    .into_iter()
                    .map(|(id, report, width, height)| Attachment {
                        id: AttachmentId::from_bytes(id),
                        mime: "image/jpeg".into(),
                        width,
                        height,
                        size: u64::from(width) * 3,
                        report,
                        created_at: Timestamp(t),
                    })
                    .collect(),
                comments: comments
                    .into_iter()
                    .map(|(id, body, reply)| Comment {
                        id: CommentId::from_bytes(id),
                        reply_to: reply.then(|| CommentId::from_bytes(id)),
                        author: "Dr A".into(),
                        body,
                        created_at: Timestamp(t),
                    })
                    .collect(),
            },
        )
}

proptest! {
    #[test]
    fn case_round_trips_through_cbor(c in case()) {
        let bytes = to_cbor(&c).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Case = from_cbor(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, c);
    }

    #[test]
    fn case_round_trips_through_json(c in case()) {
        let text = serde_json::to_string(&c).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Case = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, c);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = from_cbor::<Case>(&bytes);
        let _ = from_cbor::<CaseFields>(&bytes);
    }

    #[test]
    fn age_words_round_trip(years in 0u32..200) {
        let band = AgeBand::from_years(years);
        prop_assert_eq!(band.to_string().parse::<AgeBand>().ok(), Some(band));
    }
}

#[test]
fn fields_from_a_newer_client_with_unknown_members_still_decode() {
    let newer = serde_json::json!({
        "title": "Rash",
        "urgency": "immediate-new-level",
        "a_field_from_the_future": {"nested": [1, 2, 3]},
        "tags": ["derm"]
    });
    let bytes = to_cbor(&newer).unwrap();
    let fields: CaseFields = from_cbor(&bytes).unwrap();
    assert_eq!(fields.title, "Rash");
    assert_eq!(fields.urgency, Urgency::Routine);
    assert_eq!(fields.tags, vec!["derm".to_string()]);
}

#[test]
fn fields_from_an_older_client_missing_members_decode_with_defaults() {
    let older = serde_json::json!({ "title": "Old" });
    let fields: CaseFields = from_cbor(&to_cbor(&older).unwrap()).unwrap();
    assert_eq!(fields.title, "Old");
    assert!(fields.tags.is_empty());
    assert_eq!(fields.age_band, None);
}

#[test]
fn deeply_nested_hostile_cbor_is_an_error_not_a_stack_overflow() {
    // 100 000 nested one-element arrays.
    let mut bytes = vec![0x81u8; 100_000];
    bytes.push(0x00);
    assert!(from_cbor::<CaseFields>(&bytes).is_err());
}

#[test]
fn a_case_filter_names_its_circle_in_hex_and_refuses_anything_else() {
    let f: CaseFilter = serde_json::from_str(r#"{"circle":"0aff","drafts":true}"#).unwrap();
    assert_eq!(f.circle, Some(vec![0x0a, 0xff]));
    assert!(f.drafts);
    assert_eq!(
        serde_json::to_value(&f).unwrap()["circle"],
        serde_json::json!("0aff")
    );
    assert_eq!(
        serde_json::from_str::<CaseFilter>("{}").unwrap(),
        CaseFilter::default()
    );
    // Odd length, not hex, and a multi-byte character straddling a digit pair: errors, never
    // a panic.
    for bad in [r#""abc""#, r#""zz""#, r#""aéb""#] {
        let json = format!(r#"{{"circle":{bad}}}"#);
        assert!(serde_json::from_str::<CaseFilter>(&json).is_err(), "{json}");
    }
}

#[test]
fn the_signed_bytes_name_the_relay_by_its_origin() {
    use consilium_model::wire::{challenge_signing_bytes, origin, request_signing_bytes};
    assert_eq!(
        origin(" HTTPS://Relay.Example.org/ "),
        "https://relay.example.org"
    );
    assert_eq!(origin("http://127.0.0.1:8443"), "http://127.0.0.1:8443");
    let sign = |o: &str| request_signing_bytes(o, "GET", "/v1/mailbox", 1, "00", &[0; 32]);
    assert_ne!(sign("http://a:1"), sign("http://b:1"));
    assert!(sign("http://a:1").starts_with(b"CONSILIUM-RELAY-V2\nhttp://a:1\nGET\n"));
    assert_ne!(
        challenge_signing_bytes("http://a:1", b"c", &[1; 32]),
        challenge_signing_bytes("http://b:1", b"c", &[1; 32])
    );
}

#[test]
fn report_summary_names_what_was_removed() {
    let r = DeidReport {
        exif_fields: 42,
        gps: true,
        camera_serial: true,
        embedded_thumbnail: true,
        xmp: true,
        redactions: 1,
        ..Default::default()
    };
    assert_eq!(
        r.summary(),
        "removed EXIF: 42 fields incl. GPS position, camera serial; embedded thumbnail; XMP; 1 redaction(s) burned in"
    );
    assert_eq!(DeidReport::default().summary(), "no metadata found");
}

#[test]
fn validation_refuses_empty_titles_and_oversized_fields() {
    let mut f = CaseFields {
        title: " ".into(),
        ..Default::default()
    };
    assert!(f.validate().is_err());
    f.title = "ok".into();
    assert!(f.validate().is_ok());
    f.history = "x".repeat(65 * 1024);
    assert!(f.validate().is_err());
}

mod app_messages {
    use super::*;
    use consilium_model::app::*;
    use serde_bytes::ByteBuf;

    fn pointer(seed: u8) -> AttachmentPointer {
        AttachmentPointer {
            attachment_id: AttachmentId::from_bytes([seed; 16]),
            rendition: Rendition::Preview,
            blob_id: ByteBuf::from(vec![seed; 32]),
            key: BlobKey::new([seed.wrapping_add(1); 32]),
            nonce: ByteBuf::from(vec![seed; 12]),
            plaintext_sha256: ByteBuf::from(vec![seed; 32]),
            size: 1000 + u64::from(seed),
            mime: "image/jpeg".into(),
            width: 1600,
            height: 1200,
        }
    }

    fn message() -> impl Strategy<Value = AppMessage> {
        let case_id = any::<[u8; 16]>().prop_map(CaseId::from_bytes);
        let comment_id = any::<[u8; 16]>().prop_map(CommentId::from_bytes);
        prop_oneof![
            (
                case_id.clone(),
                // Only what a sender's client would send: the receiver validates on decode.
                fields().prop_filter("a valid case", |f| f.validate().is_ok()),
                0u8..4,
                1u32..50,
                any::<i64>()
            )
                .prop_map(|(case_id, fields, n, revision, t)| {
                    AppMessage::CaseShared(CaseShared {
                        case_id,
                        revision,
                        fields,
                        attachments: (0..n).map(pointer).collect(),
                        shared_at: Timestamp(t),
                    })
                }),
            (case_id.clone(), ".{1,40}", any::<i64>()).prop_map(|(case_id, outcome, t)| {
                AppMessage::CaseResolved(CaseResolved {
                    case_id,
                    outcome,
                    resolved_at: Timestamp(t),
                })
            }),
            case_id
                .clone()
                .prop_map(|case_id| AppMessage::CaseRetracted(CaseRetracted { case_id })),
            (
                case_id.clone(),
                comment_id.clone(),
                proptest::option::of(comment_id.clone()),
                "[a-z]{1}.{0,200}",
                any::<i64>()
            )
                .prop_map(|(case_id, comment_id, reply_to, body, t)| {
                    AppMessage::Comment(CommentPosted {
                        case_id,
                        comment_id,
                        reply_to,
                        body,
                        created_at: Timestamp(t),
                    })
                }),
            (
                case_id.clone(),
                comment_id.clone(),
                proptest::collection::vec("[a-z]{1,30}", 2..12)
            )
                .prop_map(|(case_id, poll_id, options)| AppMessage::Poll(PollOpened {
                    case_id,
                    poll_id,
                    options
                })),
            (case_id, comment_id, 0u32..12).prop_map(|(case_id, poll_id, option)| {
                AppMessage::Vote(VoteCast {
                    case_id,
                    poll_id,
                    option,
                })
            }),
            (".{0,60}", ".{0,60}").prop_map(|(name, specialty)| {
                AppMessage::MemberProfile(MemberProfile { name, specialty })
            }),
            proptest::option::of(1u32..=MAX_RETENTION_DAYS)
                .prop_map(|days| AppMessage::Retention(RetentionSet { days })),
        ]
    }

    proptest! {
        #[test]
        fn app_messages_round_trip(m in message()) {
            let bytes = m.encode().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back = AppMessage::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, m);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_app_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = AppMessage::decode(&bytes);
        }
    }

    /// The relay sees an MLS message's size: a comment of 5 characters and one of 150 must come
    /// out the same size (a bucket), and the padding must read back as nothing.
    #[test]
    fn application_messages_are_padded_to_size_buckets() {
        let comment = |text: &str| {
            AppMessage::Comment(CommentPosted {
                case_id: consilium_model::CaseId::from_bytes([1; 16]),
                comment_id: consilium_model::CommentId::from_bytes([2; 16]),
                reply_to: None,
                body: text.into(),
                created_at: consilium_model::Timestamp(5),
            })
        };
        let short = comment("Agree").encode().unwrap();
        let long = comment(&"x".repeat(150)).encode().unwrap();
        assert_eq!(short.len(), long.len(), "one bucket");
        assert_eq!(AppMessage::decode(&short).unwrap(), comment("Agree"));
        // The sender's running number travels inside, and an unnumbered message reads as 0.
        let numbered = comment("Agree").encode_numbered(7).unwrap();
        assert_eq!(
            AppMessage::decode_numbered(&numbered).unwrap(),
            (comment("Agree"), 7)
        );
        assert_eq!(AppMessage::decode_numbered(&short).unwrap().1, 0);
        let sizes: std::collections::BTreeSet<usize> = (0..3000)
            .step_by(7)
            .map(|n| comment(&"y".repeat(n)).encode().unwrap().len())
            .collect();
        assert!(
            sizes.len() < 20,
            "a few buckets, not one size per message: {sizes:?}"
        );
        let huge = comment(&"z".repeat(200_000)).encode().unwrap();
        assert!(
            huge.len() < 200_000 + 8_192,
            "large messages are not doubled"
        );
    }

    #[test]
    fn a_kind_from_a_newer_client_is_kept_and_new_fields_are_ignored() {
        let future = to_cbor(&AppEnvelope {
            v: 7,
            kind: "case_video_call".into(),
            body: ByteBuf::from(vec![1, 2, 3]),
            pad: ByteBuf::new(),
            n: 0,
        })
        .unwrap();
        let kept = AppMessage::decode(&future).unwrap();
        assert_eq!(
            kept,
            AppMessage::Unknown {
                kind: "case_video_call".into(),
                body: vec![1, 2, 3]
            }
        );
        assert_eq!(AppMessage::decode(&kept.encode().unwrap()).unwrap(), kept);

        let newer_comment = serde_json::json!({
            "case_id": "00112233445566778899aabbccddeeff",
            "comment_id": "ffeeddccbbaa99887766554433221100",
            "body": "Agree with tinea",
            "created_at": 5,
            "reactions": ["+1"],
        });
        let envelope = to_cbor(&AppEnvelope {
            v: 2,
            kind: "comment".into(),
            body: ByteBuf::from(to_cbor(&newer_comment).unwrap()),
            pad: ByteBuf::new(),
            n: 0,
        })
        .unwrap();
        match AppMessage::decode(&envelope).unwrap() {
            AppMessage::Comment(c) => {
                assert_eq!(c.body, "Agree with tinea");
                assert_eq!(c.reply_to, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn broken_or_oversized_known_kinds_are_errors() {
        let wrong_shape = to_cbor(&AppEnvelope {
            v: 1,
            kind: "comment".into(),
            body: ByteBuf::from(to_cbor(&vec![1, 2]).unwrap()),
            pad: ByteBuf::new(),
            n: 0,
        })
        .unwrap();
        assert!(AppMessage::decode(&wrong_shape).is_err());
        let comment = |body: String| {
            AppMessage::Comment(CommentPosted {
                case_id: CaseId::from_bytes([1; 16]),
                comment_id: CommentId::from_bytes([2; 16]),
                reply_to: None,
                body,
                created_at: Timestamp(1),
            })
        };
        assert!(comment("x".repeat(17 * 1024)).validate().is_err());
        assert!(comment("  ".into()).validate().is_err());
        let one_option = AppMessage::Poll(PollOpened {
            case_id: CaseId::from_bytes([1; 16]),
            poll_id: CommentId::from_bytes([2; 16]),
            options: vec!["only".into()],
        });
        assert!(AppMessage::decode(&one_option.encode().unwrap()).is_err());
        let mut bad_key = pointer(3);
        bad_key.nonce = ByteBuf::from(vec![0; 5]);
        let shared = AppMessage::CaseShared(CaseShared {
            case_id: CaseId::from_bytes([1; 16]),
            revision: 1,
            fields: CaseFields {
                title: "t".into(),
                ..Default::default()
            },
            attachments: vec![bad_key],
            shared_at: Timestamp(1),
        });
        assert!(shared.validate().is_err());
    }

    #[test]
    fn a_blob_key_never_shows_in_debug_output() {
        let p = pointer(9);
        let shown = format!("{p:?}");
        assert!(shown.contains("BlobKey(redacted)"));
        assert!(!shown.contains("10, 10, 10"), "{shown}");
    }
}

mod invites;
