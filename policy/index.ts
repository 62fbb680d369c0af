// The NotesHub policy pack (issue #5). Assembly only; each policy lives in the file of its domain.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("noteshub", { policies });
